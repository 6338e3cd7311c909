import { describe, expect, it } from 'vitest';
import { classifyCommand, classifyToolCall, type ClassifyContext, type FindingCategory } from '../../src/gate/classify.js';
import { defaultPolicy } from '../../src/gate/policy.js';

const context: ClassifyContext = {
  policy: { ...defaultPolicy(), categories: { ...defaultPolicy().categories, aws: { approver: 'human', commands: ['deploy-prod'] } } },
  ringmasterHome: '/home/u/.ringmaster',
  worktreeRoot: '/home/u/.ringmaster/worktrees',
  cwd: '/w/agent',
  env: { HOME: '/home/u', SLACK_HOOK: 'https://hooks.slack.com/services/T/B/C', PROD_DB: 'postgres://db.prod:5432/app' },
  // The agent's worktree is on agent/x; /w/main is a checkout of main.
  currentBranch: (cwd) => (cwd.startsWith('/w/main') ? 'main' : cwd.startsWith('/w/unknown') ? undefined : 'agent/x'),
  repoProtectedBranches: () => ['prod/*'],
};

type Case = [command: string, expected: FindingCategory[]];

/** Gated and ordinary commands, including quoting tricks and obfuscation. Every gated one must be caught. */
const CORPUS: Case[] = [
  // aws
  ['aws s3 ls', ['aws']],
  ['aws sts get-caller-identity', ['aws']],
  ['/usr/local/bin/aws ec2 describe-instances', ['aws']],
  ['AWS_PROFILE=prod aws s3 cp a s3://b/a', ['aws']],
  ['sam deploy --guided', ['aws']],
  ['npx cdk deploy --all', ['aws']],
  ['cdk destroy MyStack', ['aws']],
  ['eksctl create cluster -f c.yaml', ['aws']],
  ['bash -c "aws sts get-caller-identity"', ['aws']],
  ["sh -c 'aws s3 rm s3://bucket --recursive'", ['aws']],
  ['bash -lc "aws s3 ls"', ['aws']],
  ['echo $(aws s3 ls)', ['aws']],
  ['echo `aws s3 ls`', ['aws']],
  ['result=$(aws lambda invoke out.json)', ['aws']],
  ['sudo aws s3 ls', ['aws']],
  ['sudo -u deploy aws s3 ls', ['aws']],
  ['env AWS_REGION=us-east-1 aws s3 ls', ['aws']],
  ['env -i PATH=/bin aws s3 ls', ['aws']],
  ['timeout 30 aws s3 ls', ['aws']],
  ['nice -n 10 aws s3 sync . s3://x', ['aws']],
  ['nohup aws s3 sync . s3://x &', ['aws']],
  ['ls | xargs aws s3 cp', ['aws']],
  ['find . -name "*.zip" | xargs -I{} aws s3 cp {} s3://b/', ['aws']],
  ['(cd infra && aws cloudformation deploy --template-file t.yaml)', ['aws']],
  ['{ aws s3 ls; }', ['aws']],
  ['true && aws s3 ls', ['aws']],
  ['false || aws s3 ls', ['aws']],
  ['echo start; aws s3 ls; echo end', ['aws']],
  ['if true; then aws s3 ls; fi', ['aws']],
  ['for b in a b; do aws s3 ls s3://$b; done', ['aws']],
  ['AWS_ACCESS_KEY_ID=AKIA AWS_SECRET_ACCESS_KEY=x ./scripts/upload.sh', ['aws']],
  ['env AWS_SESSION_TOKEN=t python deploy.py', ['aws']],
  ['python3 -m awscli s3 ls', ['aws']],
  ['aws-vault exec prod -- terraform plan', ['aws']],
  ['deploy-prod --now', ['aws']],
  ["eval 'aws s3 ls'", ['aws']],
  ['command aws s3 ls', ['aws']],
  ['exec aws s3 ls', ['aws']],
  ['time aws s3 ls', ['aws']],
  ['cat <(aws s3 ls)', ['aws']],
  // slack
  ['curl -X POST -d \'{"text":"hi"}\' https://hooks.slack.com/services/T0/B0/XX', ['slack']],
  ['curl https://slack.com/api/chat.postMessage -H "Authorization: Bearer x"', ['slack']],
  ['wget --post-data "x=1" https://hooks.slack.com/services/A/B/C', ['slack']],
  ['http POST https://slack.com/api/chat.postMessage text=hi', ['slack']],
  ['slack chat send "deployed" "#ops"', ['slack']],
  ['python -c "import requests; requests.post(\'https://hooks.slack.com/services/x\')"', ['slack']],
  ['node -e "fetch(\'https://acme.slack.com/api/chat.postMessage\')"', ['slack']],
  ['curl -d hi "$SLACK_HOOK"', ['slack']],
  ['curl -d hi ${SLACK_HOOK}', ['slack']],
  ['bash -c "curl https://hooks.slack.com/services/Q"', ['slack']],
  // protected pushes
  ['git push origin main', ['protected_push']],
  ['git push origin master', ['protected_push']],
  ['git push origin HEAD:main', ['protected_push']],
  ['git push origin agent/x:main', ['protected_push']],
  ['git push origin HEAD:refs/heads/main', ['protected_push']],
  ['git push origin release/2.0', ['protected_push']],
  ['git push origin HEAD:release/v3', ['protected_push']],
  ['git push origin prod/eu', ['protected_push']],
  ['git push --force origin agent/x', ['protected_push']],
  ['git push -f origin agent/x', ['protected_push']],
  ['git push --force-with-lease origin agent/x', ['protected_push']],
  ['git push origin +agent/x', ['protected_push']],
  ['git push --mirror', ['protected_push']],
  ['git push --all origin', ['protected_push']],
  ['git push origin :main', ['protected_push']],
  ['git push origin --delete main', ['protected_push']],
  ['git -C /w/main push', ['protected_push']],
  ['git -C /w/main push origin HEAD', ['protected_push']],
  ['git -C /w/unknown push', ['protected_push']],
  ['git -c user.name=x push origin main', ['protected_push']],
  ['cd /w/main && git push origin main', ['protected_push']],
  ['gh pr merge 42 --squash', ['protected_push']],
  ['gh pr merge --auto', ['protected_push']],
  ['bash -c "git push origin main"', ['protected_push']],
  ['git push origin $BRANCH', ['protected_push']],
  ['git push -u origin main', ['protected_push']],
  // terraform
  ['terraform apply', ['terraform']],
  ['terraform apply -auto-approve', ['terraform']],
  ['terraform -chdir=infra apply', ['terraform']],
  ['terraform destroy -target=aws_instance.web', ['terraform']],
  ['terraform import aws_s3_bucket.b my-bucket', ['terraform']],
  ['terraform state rm aws_instance.old', ['terraform']],
  ['terraform state mv a b', ['terraform']],
  ['tofu apply', ['terraform']],
  ['terragrunt run-all apply', ['terraform']],
  ['cd infra && terraform init && terraform apply -auto-approve', ['terraform']],
  ['sh -c "terraform destroy -auto-approve"', ['terraform']],
  ['make deploy && terraform apply plan.out', ['terraform']],
  // databases
  ['psql -h db.prod.internal -U app', ['database']],
  ['psql --host=10.1.2.3 app', ['database']],
  ['psql -hdb.prod app', ['database']],
  ['psql postgres://app@db.example.com:5432/app', ['database']],
  ['psql "host=db.prod dbname=app"', ['database']],
  ['psql "$DATABASE_URL"', ['database']],
  ['PGHOST=db.prod psql app', ['database']],
  ['mysql -h mysql.prod -u root', ['database']],
  ['mariadb --host=maria.prod', ['database']],
  ['mongosh "mongodb+srv://cluster0.abc.mongodb.net/app"', ['database']],
  ['redis-cli -h cache.prod.internal', ['database']],
  ['redis-cli -u redis://cache.prod:6379', ['database']],
  ['DATABASE_URL=postgres://db.prod/app npx prisma migrate deploy', ['database']],
  ['npx knex migrate:latest --env production --connection postgres://db.prod/app', ['database']],
  ['DATABASE_URL=postgres://rds.amazonaws.com/x alembic upgrade head', ['database']],
  ['migrate -database postgres://db.prod/app -path db up', ['database']],
  ['dbmate --url postgres://db.prod/app up', ['database']],
  ['DATABASE_URL=$PROD_DB rails db:migrate', ['database']],
  // several at once
  ['aws s3 ls && git push origin main', ['aws', 'protected_push']],
  ['terraform apply && curl https://hooks.slack.com/services/x -d done', ['terraform', 'slack']],
  // the gate's own files
  ['ringmaster approve pr_0123456789', ['self_approval']],
  ['node /opt/ringmaster/dist/src/cli.js approve pr_1', ['self_approval']],
  ['rm -rf ~/.ringmaster', ['self_approval']],
  ['sqlite3 /home/u/.ringmaster/state.db "delete from permission_requests"', ['self_approval']],
  ['echo \'{"waitSeconds":1}\' > /home/u/.ringmaster/policy.json', ['self_approval']],
  ['cp evil.json ~/.ringmaster/policy.json', ['self_approval']],
  // run-time tricks
  ['a=aws; $a s3 ls', ['obfuscated']],
  ['$(echo YXdz | base64 -d) s3 ls', ['obfuscated']],
  ['"$TOOL" s3 ls', ['obfuscated']],
  ['bash -c "$CMD"', ['obfuscated']],
  ['eval "$CMD"', ['obfuscated']],
  ["a''ws s3 ls", ['aws']],
  ['a\\ws s3 ls', ['aws']],
  ['"a"w\'s\' s3 ls', ['aws']],
  ['/usr/bin/a?s s3 ls', ['obfuscated']],
  ['/usr/bin/a[w]s s3 ls', ['obfuscated']],
  ['{a,}ws s3 ls', ['obfuscated']],
  ['git push origin {main,dev}', ['protected_push']],
  ["$'\\x61ws' s3 ls", ['aws']],
  ['echo "unterminated', ['obfuscated']],
  // ordinary
  ['ls -la', []],
  ['npm test', []],
  ['npm run build && npm test', []],
  ['git status', []],
  ['git diff --stat', []],
  ['git add -A && git commit -m "Fix the push button on main page"', []],
  ['git commit -m "aws: note about s3"', []],
  ['git push origin agent/x', []],
  ['git push -u origin agent/x', []],
  ['git push', []],
  ['git push origin HEAD', []],
  ['git push origin agent/x:agent/x', []],
  ['git push origin feature/main-menu', []],
  ['git push --tags origin', []],
  ['git fetch origin main', []],
  ['git pull origin main', []],
  ['git log main..HEAD', []],
  ['git rebase origin/main', []],
  ['gh pr create --title "x" --body "y"', []],
  ['gh pr view 42', []],
  ['terraform plan', []],
  ['terraform init', []],
  ['terraform validate', []],
  ['terraform fmt -recursive', []],
  ['terraform state list', []],
  ['terraform show', []],
  ['psql -h localhost -U dev app', []],
  ['psql -h 127.0.0.1 app', []],
  ['psql postgres://dev@localhost/app', []],
  ['psql app', []],
  ['redis-cli ping', []],
  ['mysql -h 127.0.0.1 -u root', []],
  ['DATABASE_URL=postgres://localhost/app npx prisma migrate dev', []],
  ['npx prisma generate', []],
  ['echo "aws is a cloud"', []],
  ['grep -rn "aws" src/', []],
  ['cat README.md | grep slack', []],
  ['cat ~/.ringmaster/policy.json', []],
  ['ls ~/.ringmaster/worktrees', []],
  ['curl https://api.github.com/repos/x/y', []],
  ['curl -s http://localhost:3000/health', []],
  ['wget https://example.com/file.tgz', []],
  ['python -m pytest -q', []],
  ['node scripts/build.js', []],
  ['docker compose up -d', []],
  ['make test', []],
  ['cargo build --release', []],
  ['echo $HOME', []],
  ['cd "$HOME/project" && ls', []],
  ['for f in *.ts; do echo "$f"; done', []],
  ['sed -i "s/foo/bar/" src/a.ts', []],
  ["bash -c 'npm test'", []],
  ['sudo apt-get install -y jq', []],
  ['env NODE_ENV=test npm test', []],
  ['xargs -n1 echo < list.txt', []],
  ['timeout 60 npm test', []],
  ['mkdir -p build && cp -r src build/', []],
  ['rg "terraform apply" docs/', []],
  ['echo "git push origin main" >> NOTES.md', []],
  // the agents' own worktrees live under ~/.ringmaster/worktrees: their own work, not ringmaster's state
  ['echo done > ~/.ringmaster/worktrees/app/fix-login/NOTES.md', []],
  ['rm -rf /home/u/.ringmaster/worktrees/app/fix-login/build', []],
];

const GATED: FindingCategory[] = ['aws', 'slack', 'protected_push', 'terraform', 'database', 'self_approval', 'obfuscated'];

describe('command classification corpus', () => {
  it('has at least 150 commands', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
  });

  it.each(CORPUS)('%s', (command, expected) => {
    const categories = [...new Set(classifyCommand(command, context).map((finding) => finding.category))].sort();
    expect(categories).toEqual([...expected].sort());
  });

  it('catches every gated command (recall 1.0 in every category) and prints precision and recall', () => {
    const rows = GATED.map((category) => {
      let truePositives = 0;
      let falsePositives = 0;
      let falseNegatives = 0;
      for (const [command, expected] of CORPUS) {
        const got = classifyCommand(command, context).some((finding) => finding.category === category);
        const want = expected.includes(category);
        if (got && want) truePositives++;
        else if (got) falsePositives++;
        else if (want) falseNegatives++;
      }
      const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
      const recall = truePositives + falseNegatives === 0 ? 1 : truePositives / (truePositives + falseNegatives);
      return { category, cases: truePositives + falseNegatives, precision: Number(precision.toFixed(3)), recall: Number(recall.toFixed(3)) };
    });
    console.table(rows);
    for (const row of rows) expect(row.recall, row.category).toBe(1);
  });
});

describe('non-Bash tools', () => {
  it('gates Slack MCP tools, web fetches to Slack, writes into ringmaster, and a child calling request_permission', () => {
    const categories = (tool: string, input: Record<string, unknown>) => classifyToolCall(tool, input, context).map((finding) => finding.category);
    expect(categories('mcp__slack__post_message', { channel: '#ops', text: 'hi' })).toEqual(['slack']);
    expect(categories('mcp__claude_ai_Slack__send', {})).toEqual(['slack']);
    expect(categories('WebFetch', { url: 'https://hooks.slack.com/services/x', prompt: 'post' })).toEqual(['slack']);
    expect(categories('Write', { file_path: '/home/u/.ringmaster/policy.json', content: '{}' })).toEqual(['self_approval']);
    expect(categories('Edit', { file_path: '/w/agent/src/a.ts', old_string: 'a', new_string: 'b' })).toEqual([]);
    expect(categories('mcp__ringmaster__request_permission', { request_id: 'pr_1', decision: 'approve' })).toEqual(['self_approval']);
    expect(categories('Read', { file_path: '/home/u/.ringmaster/state.db' })).toEqual([]);
    expect(categories('Write', { file_path: '/home/u/.ringmaster/worktrees/app/a/src/x.ts', content: '' })).toEqual([]);
  });
});
