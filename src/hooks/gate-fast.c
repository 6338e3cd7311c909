/*
 * gate-fast: ringmaster's Claude hooks as one small compiled process.
 * Usage: gate-fast <node> <gate.js> <worktree root> [<spool>]   (PreToolUse)
 *        gate-fast --record <spool>                             (every other event)
 *
 * The first is gate.sh ported step for step (same checks, same order, same
 * spool file), the second record-event.sh, because a bash start alone costs
 * about as much as the whole hook budget: exec'd by Claude's `sh -c`, this
 * decides an ordinary call in little more than the time of a `true` hook.
 * ringmaster compiles it from this file (src/gate/gate-helper.ts); without a
 * C compiler the hooks run the bash scripts. Change them together.
 *
 * Fail closed. It allows a call (exits 0 silently) only after every check of
 * gate.sh passed; anything it does not fully understand goes to the full
 * classifier: the classifier service when it is up and says "allow"
 * (`classifier_allows`), else node gate.js with the payload on its stdin
 * (grants, approvals, the deny with a reason); when that fails, or on
 * any internal error (no memory, unreadable input, a crash signal), it prints
 * an explicit deny. test/integration/gate-fast-path.test.ts checks it never
 * allows what the classifier gates, on every command of the corpora.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DENY_FMT "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"deny\",\"permissionDecisionReason\":\"%s\"}}\n"
#define DENY_FAILED "ringmaster gate failed to decide; the call is denied (fail-closed)."

static void deny(const char *reason) {
  printf(DENY_FMT, reason);
  fflush(stdout);
  _exit(0);
}

static const char crash_deny[] = "{\"hookSpecificOutput\":{\"hookEventName\":\"PreToolUse\",\"permissionDecision\":\"deny\",\"permissionDecisionReason\":\"" DENY_FAILED "\"}}\n";
static void on_crash(int sig) {
  (void)sig;
  ssize_t ignored = write(1, crash_deny, sizeof crash_deny - 1);
  (void)ignored;
  _exit(0);
}

/* ---- strings: NUL-terminated, growable */
typedef struct { char *p; size_t n, cap; } str;

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) deny(DENY_FAILED);
  return q;
}
static void s_addn(str *s, const char *a, size_t n) {
  if (s->n + n + 1 > s->cap) {
    s->cap = (s->n + n + 1) * 2;
    s->p = xrealloc(s->p, s->cap);
  }
  memcpy(s->p + s->n, a, n);
  s->n += n;
  s->p[s->n] = 0;
}
static void s_add(str *s, const char *a) { s_addn(s, a, strlen(a)); }
static void s_addc(str *s, char c) { s_addn(s, &c, 1); }
static void s_set(str *s, const char *a) { s->n = 0; if (s->p) s->p[0] = 0; s_add(s, a); }
static const char *S(str *s) { return s->p ? s->p : ""; }
static char *xstrdup(const char *a) { size_t n = strlen(a); char *p = xrealloc(NULL, n + 1); memcpy(p, a, n + 1); return p; }
static char *lower(const char *a) {
  char *p = xstrdup(a);
  for (char *q = p; *q; q++) if (*q >= 'A' && *q <= 'Z') *q += 'a' - 'A';
  return p;
}
static int starts(const char *s, const char *pre) { return strncmp(s, pre, strlen(pre)) == 0; }
static int ends(const char *s, const char *suf) { size_t a = strlen(s), b = strlen(suf); return a >= b && strcmp(s + a - b, suf) == 0; }
static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }
static int eq(const char *a, const char *b) { return strcmp(a, b) == 0; }
/* " word " occurs in a space-separated list written as " a b c " */
static int in_list(const char *list, const char *word) {
  str needle = {0};
  s_add(&needle, " ");
  s_add(&needle, word);
  s_add(&needle, " ");
  int r = has(list, needle.p);
  free(needle.p);
  return r;
}
/* every occurrence of `from` replaced by `to`, left to right, not overlapping */
static char *replace_all(const char *s, const char *from, const char *to) {
  str out = {0};
  size_t fl = strlen(from);
  s_add(&out, "");
  for (;;) {
    const char *hit = strstr(s, from);
    if (!hit) break;
    s_addn(&out, s, (size_t)(hit - s));
    s_add(&out, to);
    s = hit + fl;
  }
  s_add(&out, s);
  return out.p;
}
static int is_alpha_(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static int is_alnum_(char c) { return is_alpha_(c) || (c >= '0' && c <= '9'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
/* the whole of s made of chars in set (at least one) */
static int all_in(const char *s, const char *set) {
  if (!*s) return 0;
  for (; *s; s++) if (!strchr(set, *s)) return 0;
  return 1;
}
#define ALNUM_ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
/* ^[A-Za-z_][A-Za-z0-9_]*  → the length of the name, 0 if none */
static size_t name_len(const char *s) {
  if (!is_alpha_(*s)) return 0;
  size_t n = 1;
  while (is_alnum_(s[n])) n++;
  return n;
}

/* ---- the state gate.sh keeps in G_ variables */
static char *payload;
static size_t payload_len;
static const char *node_bin, *gate_js;
static char *home, *wt, *home_lc, *wt_lc;
static str extra;
static char *value; /* json_string's result */

static char *read_all(int fd, size_t *len);

static void json_string_to(str *s, const char *a) {
  s_addc(s, '"');
  for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
    if (*p == '"') s_add(s, "\\\"");
    else if (*p == '\\') s_add(s, "\\\\");
    else if (*p < 0x20 || *p == 0x7f) {
      char u[8];
      snprintf(u, sizeof u, "\\u%04x", *p);
      s_add(s, u);
    } else s_addc(s, (char)*p);
  }
  s_addc(s, '"');
}
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    p += w;
    n -= (size_t)w;
  }
  return 1;
}

/*
 * The classifier as a service: the egress gate's process (src/gate/egress/daemon.ts,
 * one per RINGMASTER_HOME, up while a sandboxed agent runs) answers POST /classify
 * on its control socket with exactly what gate.js would find, without a Node start
 * per call. Only its "allow" (nothing to gate) is taken; any other answer, a gate
 * that is down, slow or runs older code, and this falls back to starting gate.js.
 * Sent: the payload as received, this process's cwd and its environment (gate.js
 * reads both), all ASCII: anything else goes to gate.js, which sees the bytes as they are.
 */
static int classifier_allows(void) {
  const char *h = getenv("RINGMASTER_HOME");
  /* a payload over 64 kB (a big here-doc or file) is Node's to parse: the service's process also carries every agent's
     network traffic, and must not stall on one call's classification */
  if (!h || h[0] != '/' || !payload || strlen(payload) != payload_len || payload_len > (64u << 10)) return 0;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (snprintf(addr.sun_path, sizeof addr.sun_path, "%s/egress/control.sock", h) >= (int)sizeof addr.sun_path) return 0;
  struct stat st;
  if (stat(addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return 0;
  str body = {0};
  s_add(&body, "{\"payload\":");
  s_add(&body, payload);
  s_add(&body, ",\"cwd\":");
  json_string_to(&body, cwd);
  s_add(&body, ",\"env\":{");
  for (char **e = environ; *e; e++) {
    const char *sep = strchr(*e, '=');
    if (!sep || sep == *e) continue;
    for (const unsigned char *c = (const unsigned char *)*e; *c; c++) {
      if (*c >= 0x80) { free(body.p); return 0; }
    }
    /* a name given twice: which one Node keeps is not this process's to guess */
    for (char **f = environ; f < e; f++) {
      if (strncmp(*f, *e, (size_t)(sep - *e) + 1) == 0) { free(body.p); return 0; }
    }
    if (body.p[body.n - 1] != '{') s_addc(&body, ',');
    char *name = strndup(*e, (size_t)(sep - *e));
    if (!name) deny(DENY_FAILED);
    json_string_to(&body, name);
    free(name);
    s_addc(&body, ':');
    json_string_to(&body, sep + 1);
  }
  s_add(&body, "}}");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { free(body.p); return 0; }
  struct timeval limit = { .tv_sec = 2, .tv_usec = 0 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  char head[256];
  snprintf(head, sizeof head, "POST /classify HTTP/1.1\r\nHost: ringmaster\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", body.n);
  int sent = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 && write_all(fd, head, strlen(head)) && write_all(fd, body.p, body.n);
  free(body.p);
  size_t n = 0;
  char *answer = sent ? read_all(fd, &n) : NULL;
  close(fd);
  if (!answer) return 0;
  const char *blank = strstr(answer, "\r\n\r\n");
  int allows = starts(answer, "HTTP/1.1 200 ") && blank && eq(blank + 4, "{\"decision\":\"allow\"}");
  free(answer);
  return allows;
}

/* the agent's egress-notices file when it has something: gate.js alone tells the agent (see main) */
static char *notices_path;

static void full_check(void) {
  fflush(stdout);
  if (!notices_path && classifier_allows()) _exit(0);
  int fds[2];
  if (pipe(fds) != 0) deny(DENY_FAILED);
  pid_t pid = fork();
  if (pid < 0) deny(DENY_FAILED);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    if (notices_path) execl(node_bin, node_bin, gate_js, "--notices", notices_path, (char *)NULL);
    else execl(node_bin, node_bin, gate_js, (char *)NULL);
    _exit(127);
  }
  close(fds[0]);
  size_t left = strlen(payload);
  const char *p = payload;
  while (left > 0) {
    ssize_t w = write(fds[1], p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      break; /* the reader is gone: its exit status decides */
    }
    p += w;
    left -= (size_t)w;
  }
  close(fds[1]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) deny(DENY_FAILED);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) _exit(0);
  deny(DENY_FAILED);
}

static int normal_abs(const char *p) {
  return p[0] == '/' && !has(p, "//") && !has(p, "/./") && !has(p, "/../") && !ends(p, "/.") && !ends(p, "/..");
}
static char *strip_slashes(const char *a) {
  char *p = xstrdup(a);
  size_t n = strlen(p);
  while (n > 0 && p[n - 1] == '/' && !eq(p, "/")) p[--n] = 0;
  return p;
}
/* an absolute, normalized path inside ringmaster's state (home, not the worktrees); without case */
static int is_state(const char *path) {
  char *p = lower(path);
  size_t hl = strlen(home_lc), wl = strlen(wt_lc);
  int in_home = eq(p, home_lc) || (starts(p, home_lc) && p[hl] == '/');
  int in_wt = eq(p, wt_lc) || (starts(p, wt_lc) && p[wl] == '/');
  free(p);
  return in_home && !in_wt;
}
/* a folder from which a relative path without `..` cannot reach ringmaster's state */
static int safe_dir(const char *dir) {
  if (!normal_abs(dir)) return 0;
  char *p = lower(dir);
  size_t hl = strlen(home_lc), wl = strlen(wt_lc), pl = strlen(p);
  int r;
  if ((starts(p, wt_lc) && p[wl] == '/') || eq(p, wt_lc)) r = 1;
  else if (eq(p, "/") || eq(p, home_lc) || (starts(p, home_lc) && p[hl] == '/') || (starts(home_lc, p) && home_lc[pl] == '/')) r = 0;
  else r = 1;
  free(p);
  return r;
}

/* the key occurs exactly once in the payload */
static int once(const char *key) {
  const char *hit = strstr(payload, key);
  return hit && !strstr(hit + strlen(key), key);
}
/* "key":"<value>" → value, a JSON string without escapes */
static int json_string(const char *key) {
  str k = {0};
  s_add(&k, "\"");
  s_add(&k, key);
  s_add(&k, "\":\"");
  int ok = once(k.p);
  if (ok) {
    const char *start = strstr(payload, k.p) + k.n;
    const char *q = strchr(start, '"');
    free(value);
    value = q ? strndup(start, (size_t)(q - start)) : xstrdup(start);
    if (!value) deny(DENY_FAILED);
    ok = !strchr(value, '\\');
  }
  free(k.p);
  return ok;
}

/* $NAME or ${NAME in s, leftmost first: calls fn with each name's value from the environment */
static void each_var(const char *s, void (*fn)(const char *value)) {
  for (size_t i = 0; s[i]; i++) {
    if (s[i] != '$') continue;
    size_t j = i + 1;
    if (s[j] == '{') j++;
    size_t n = name_len(s + j);
    if (!n) continue;
    char *name = strndup(s + j, n);
    if (!name) deny(DENY_FAILED);
    const char *v = getenv(name);
    free(name);
    fn(v ? v : "");
    i = j + n - 1;
  }
}
static int slack;
static void slack_var(const char *v) {
  char *l = lower(v);
  if (has(l, "slack")) slack = 1;
  free(l);
}
/* the variables of a word that may be a path: their values must not point into ringmaster's folder, nor climb out */
static void check_var(const char *v) {
  if (!*v) return;
  if (has(v, "..") || has(v, "~")) full_check();
  char *l = lower(v);
  char *trimmed = xstrdup(l);
  size_t tl = strlen(trimmed);
  if (tl && trimmed[tl - 1] == '/') trimmed[--tl] = 0;
  int bad = v[0] == '/' && (has(l, home_lc) || (starts(home_lc, trimmed) && home_lc[tl] == '/'));
  free(l);
  free(trimmed);
  if (bad) full_check();
}
static void check_vars(const char *word) { each_var(word, check_var); }

/* ---- the scanner (gate.sh's, variable for variable) */
static const char *SAFE = " ls cat head tail less more wc grep egrep fgrep rg ag ack sed sort uniq cut tr diff cmp comm tee column nl fold paste join seq tac rev od hexdump strings file stat du df tree pwd echo printf true false test [ : basename dirname realpath readlink date whoami id uname hostname which type hash sleep xxd base64 md5sum sha1sum sha256sum jq yq touch mkdir rmdir cp mv rm ln chmod unset set exit return wait shift patch gzip gunzip zcat make cmake ninja tsc vitest jest mocha eslint prettier biome cargo rustc rustfmt go gofmt gcc g++ cc clang javac mvn gradle gradlew pytest ruff black mypy flake8 isort pylint tox pip pip3 curl wget git gh npm yarn pnpm bun npx python python3 node cd export command xargs timeout nice env find read ";
static const char *QUIET = " find ls cat head tail less more wc grep egrep fgrep rg ag ack sed sort uniq cut tr diff cmp comm tee column nl basename dirname realpath readlink echo printf test [ true false : pwd which type hash xxd base64 md5sum sha256sum touch mkdir cp mv rm ln git cd export unset ";
static const char *READ_ONLY = " cat ls head tail less more grep rg find stat wc file jq du realpath readlink echo printf test [ ";
static const char *GIT_SAFE = " status diff log show add commit branch checkout switch restore stash fetch pull rebase merge cherry-pick revert reset rm mv tag rev-parse rev-list ls-files ls-tree cat-file blame grep describe shortlog reflog remote worktree init clone diff-tree merge-base name-rev for-each-ref symbolic-ref format-patch apply clean notes show-ref range-diff cherry count-objects version help ";
static const char *PKG_SAFE = " install i add remove rm uninstall test t run build lint ci typecheck format list ls why outdated audit init version pack info view ";

static const char *s;            /* the rest of the command */
static str stack;                /* open constructs, innermost last */
static const char *expect = "cmd";
static const char *saved_expect = "cmd";
static char prog[256] = "";
static char *progp = prog;
static int pword = 0, empty = 1, body_empty = 0, closed = 0;
static char **heredocs;
static size_t n_heredocs;
static str stripped;
static int quiet_only = 1, compound = 0, assigned = 0, pending_op = 0;
static char wrap[16] = "";
static int wrap_value = 0, wrap_duration = 0;
static str git_sub;
static int git_c = 0, python_m = 0, bang = 0, data = 0;
static int opaque = 0, word_dollar = 0, word_glob = 0, was_pending = 0;

static void set_prog(const char *b) {
  if (strlen(b) >= sizeof prog) full_check();
  strcpy(prog, b);
}
static char top(void) { return stack.n ? stack.p[stack.n - 1] : 0; }
static void pop(void) { if (stack.n) stack.p[--stack.n] = 0; }
static int P(const char *name) { return eq(progp, name); }

static void prog_end(void) {
  if (P("git")) { if (!git_sub.n) full_check(); }
  else if (P("node") || P("python") || P("python3") || P("bun")) { if (!(pword > 0)) full_check(); }
  else if (P("cd")) { if (pword != 1) full_check(); }
  prog[0] = 0;
  pword = 0;
  s_set(&git_sub, "");
}
static void seg_end(const char *kind) {
  if ((empty == 1 && !eq(kind, "nl")) || bang == 1) full_check();
  if (eq(expect, "target") || wrap[0]) full_check();
  if (eq(expect, "data") && !eq(kind, "nl") && !eq(kind, "semi")) full_check();
  prog_end();
  expect = "cmd";
  empty = 1;
  closed = 0;
}
/* a word in command position at the start of a segment: 1 if it was a keyword */
static int keyword(const char *w) {
  char t = top();
  if (eq(w, "if")) s_addc(&stack, 'i');
  else if (eq(w, "while") || eq(w, "until")) s_addc(&stack, 'w');
  else if (eq(w, "then")) { if (t != 'i') full_check(); pop(); s_addc(&stack, 't'); }
  else if (eq(w, "elif")) { if (t != 't') full_check(); pop(); s_addc(&stack, 'i'); }
  else if (eq(w, "else")) { if (t != 't') full_check(); pop(); s_addc(&stack, 'e'); }
  else if (eq(w, "fi")) { if (t != 't' && t != 'e') full_check(); pop(); }
  else if (eq(w, "for")) { s_addc(&stack, 'f'); expect = "data"; data = 0; empty = 0; compound = 1; body_empty = 0; return 1; }
  else if (eq(w, "do")) { if (t != 'w' && t != 'f') full_check(); pop(); s_addc(&stack, 'd'); }
  else if (eq(w, "done")) { if (t != 'd') full_check(); pop(); }
  else if (eq(w, "{")) s_addc(&stack, 'b');
  else if (eq(w, "}")) { if (t != 'b') full_check(); pop(); }
  else if (eq(w, "!")) { compound = 1; bang = 1; return 1; }
  else if (eq(w, "case") || eq(w, "esac") || eq(w, "select") || eq(w, "function") || eq(w, "coproc") || eq(w, "time") || eq(w, "[[") || eq(w, "]]") || eq(w, "in")) full_check();
  else return 0;
  compound = 1;
  if (eq(w, "then") || eq(w, "elif") || eq(w, "else") || eq(w, "fi") || eq(w, "do") || eq(w, "done") || eq(w, "}")) {
    if (!(body_empty == 0 && was_pending == 0)) full_check();
  }
  if (eq(w, "fi") || eq(w, "done") || eq(w, "}")) { closed = 1; empty = 0; body_empty = 0; }
  else body_empty = 1;
  return 1;
}
/* ^[A-Za-z_][A-Za-z0-9_]*\+?= */
static int is_assignment(const char *w, int plus) {
  size_t n = name_len(w);
  if (!n) return 0;
  if (plus && w[n] == '+') n++;
  return w[n] == '=';
}
static const char *after_eq(const char *v) { const char *e = strchr(v, '='); return e ? e + 1 : v; }
static void command_word(const char *w, const char *v) {
  if (!wrap[0] && is_assignment(w, 1)) {
    const char *val = after_eq(v);
    if (has(val, "/") || has(val, "$") || has(val, "~") || opaque == 1 || word_glob == 1) full_check();
    assigned = 1;
    empty = 0;
    body_empty = 0;
    return;
  }
  /* ^[A-Za-z0-9_./+-][A-Za-z0-9_./+:@-]*$ */
  if (!(strchr(ALNUM_ "./+-", w[0]) && w[0] && (!w[1] || all_in(w + 1, ALNUM_ "./+:@-")) && opaque == 0)) full_check();
  const char *slash = strrchr(w, '/');
  const char *b = slash ? slash + 1 : w;
  if (!(in_list(SAFE, b) && !in_list(S(&extra), b))) full_check();
  if (!in_list(QUIET, b)) quiet_only = 0;
  empty = 0;
  body_empty = 0;
  expect = "arg";
  set_prog(b);
  pword = 0;
  git_c = 0;
  python_m = 0;
  if (eq(b, "npx") || eq(b, "xargs") || eq(b, "nice") || eq(b, "env")) strcpy(wrap, b);
  else if (eq(b, "timeout")) { strcpy(wrap, "timeout"); wrap_duration = 1; }
}
static int wrap_is(const char *name) { return eq(wrap, name); }
/* -X[0-9]* : prefix then a digit, then anything */
static int opt_digit(const char *v, const char *pre) { return starts(v, pre) && is_digit(v[strlen(pre)]); }
/* a wrapper's options, read exactly as classify.ts's unwrap reads them, then the program it runs */
static void wrapper_word(const char *w, const char *v) {
  if (wrap_value == 1) { wrap_value = 0; return; }
  if (opaque == 1 || word_dollar == 1) full_check();
  if (v[0] == '-' && !eq(v, "-") && !eq(v, "--")) {
    if (word_glob == 1 && !wrap_is("xargs")) full_check();
    if (wrap_is("npx") && (eq(v, "-y") || eq(v, "--yes") || eq(v, "--no") || eq(v, "-q") || eq(v, "--quiet") || eq(v, "--prefer-offline") || eq(v, "--no-install"))) {
    } else if (wrap_is("xargs") && (eq(v, "-I") || eq(v, "-n") || eq(v, "-P") || eq(v, "-d") || eq(v, "-E") || eq(v, "-L") || eq(v, "-s") || eq(v, "-a") || eq(v, "--max-args") || eq(v, "--max-procs") || eq(v, "--delimiter") || eq(v, "--arg-file"))) {
      wrap_value = 1;
    } else if (wrap_is("xargs") && (eq(v, "-0") || eq(v, "-r") || eq(v, "-t") || eq(v, "--null") || eq(v, "--no-run-if-empty") || eq(v, "--verbose") || opt_digit(v, "-n") || opt_digit(v, "-P") || opt_digit(v, "-L") || (starts(v, "-I") && v[2]))) {
    } else if (wrap_is("timeout") && (eq(v, "-s") || eq(v, "-k") || eq(v, "--signal") || eq(v, "--kill-after"))) {
      wrap_value = 1;
    } else if (wrap_is("timeout") && (eq(v, "--preserve-status") || eq(v, "--foreground") || eq(v, "-v") || eq(v, "--verbose"))) {
    } else if (wrap_is("nice") && (eq(v, "-n") || eq(v, "--adjustment"))) {
      wrap_value = 1;
    } else if (wrap_is("nice") && (opt_digit(v, "-n") || opt_digit(v, "-"))) {
    } else {
      full_check();
    }
    return;
  }
  if (word_glob == 1) full_check();
  if (eq(v, "--")) {
    if (!(wrap_is("npx") || wrap_is("xargs") || wrap_is("nice"))) full_check();
    return;
  }
  if (wrap_duration == 1) { wrap_duration = 0; return; }
  if (wrap_is("env") && is_assignment(w, 0)) {
    const char *val = after_eq(v);
    if (has(val, "/") || has(val, "~")) full_check();
    assigned = 1;
    return;
  }
  wrap[0] = 0;
  command_word(w, v);
}
/* ^[A-Za-z0-9_./-]+$ and not an option */
static int plain_script(const char *w) { return all_in(w, ALNUM_ "./-") && w[0] != '-'; }
/* a word after the program: most programs do not care; a few are checked */
static void arg_word(const char *w, const char *v) {
  if (wrap[0]) { wrapper_word(w, v); return; }
  pword++;
  if (word_dollar == 1 && !in_list(READ_ONLY, prog)) check_vars(w);
  if (P("git")) {
    if (opaque == 1) full_check();
    if (!git_sub.n) {
      if (word_dollar == 1 || word_glob == 1) full_check();
      if (git_c == 1) { git_c = 0; return; }
      if (eq(v, "-C")) { git_c = 1; return; }
      if (eq(v, "-p") || eq(v, "--paginate") || eq(v, "-P") || eq(v, "--no-pager") || eq(v, "--no-replace-objects") || eq(v, "--literal-pathspecs") || eq(v, "--no-optional-locks")) return;
      if (v[0] == '-') full_check();
      if (!in_list(GIT_SAFE, v)) full_check();
      s_set(&git_sub, v);
      return;
    }
    int dash_x = v[0] == '-' && strchr(v + 1, 'x');
    if ((eq(S(&git_sub), "rebase") && (dash_x || starts(v, "--exec")) && !starts(v, "--")) || starts(v, "--exec")) full_check();
  } else if (P("gh")) {
    if (opaque == 1 || (pword <= 2 && (word_dollar == 1 || word_glob == 1))) full_check();
    if (eq(v, "merge")) full_check();
  } else if (P("npm") || P("yarn") || P("pnpm") || P("bun")) {
    if (pword == 1) {
      if (opaque == 1 || word_dollar == 1 || word_glob == 1) full_check();
      if (eq(v, "exec") || eq(v, "x") || eq(v, "dlx") || v[0] == '-') full_check();
      if (!(P("npm") || in_list(PKG_SAFE, v))) full_check();
    }
  } else if (P("python") || P("python3")) {
    if (pword == 1) {
      if (eq(w, "-m")) { python_m = 1; return; }
      if (!plain_script(w)) full_check();
    } else if (pword == 2 && python_m == 1) {
      if (!(all_in(w, ALNUM_ ".") && !starts(w, "awscli"))) full_check();
    }
  } else if (P("node")) {
    if (pword == 1 && !plain_script(w)) full_check();
  } else if (P("cd")) {
    if (pword > 1 || opaque == 1 || word_dollar == 1 || word_glob == 1 || v[0] == '-' || has(v, "~")) full_check();
    if (v[0] == '/' && !safe_dir(v)) full_check();
  } else if (P("export")) {
    size_t n = name_len(w);
    if (!(n && (w[n] == '=' || w[n] == 0) && opaque == 0 && word_glob == 0)) full_check();
    const char *val = after_eq(v);
    if (has(val, "/") || has(val, "$") || has(val, "~")) full_check();
    assigned = 1;
  } else if (P("command")) {
    if (!(pword > 1 || eq(v, "-v") || eq(v, "-V"))) full_check();
  } else if (P("hash")) {
    if (opaque == 1 || (v[0] == '-' && strchr(v + 1, 'p'))) full_check();
  } else if (P("find")) {
    if (opaque == 1 || starts(v, "-exec") || starts(v, "-ok")) full_check();
  }
}

/* ^([0-9]*)(<<<|<<-|<<|>>|>&|<&|>\||<>|&>>|&>|>|<)  → the operator's length after the digits, 0 if none */
static size_t redirect_op(const char *p) {
  static const char *ops[] = {"<<<", "<<-", "&>>", "<<", ">>", ">&", "<&", ">|", "<>", "&>", ">", "<", NULL};
  for (int i = 0; ops[i]; i++) if (starts(p, ops[i])) return strlen(ops[i]);
  return 0;
}
/* ^Q(([^Q\\]|\\.)*)Q : the length of the quoted part's inside, -1 if not closed */
static long quoted_escapes(const char *p, char q) {
  size_t i = 1;
  for (;;) {
    if (!p[i]) return -1;
    if (p[i] == q) return (long)(i - 1);
    if (p[i] == '\\') {
      if (!p[i + 1]) return -1;
      i += 2;
    } else {
      i++;
    }
  }
}
static int is_plain_char(char c) { return c && c != ']' && !is_space(c) && !strchr("|&;()<>\"'\\$`*?{}[", c); }
#define NAME_CHARS ALNUM_ ".-"
static size_t hd_name_len(const char *p) {
  size_t n = 0;
  while (p[n] && strchr(NAME_CHARS, p[n])) n++;
  return n;
}

static void scan(const char *cmd) {
  s = cmd;
  str w = {0}, v = {0};
  for (;;) {
    while (*s == ' ' || *s == '\t' || (s[0] == '\\' && s[1] == '\n')) {
      s += (s[0] == '\\') ? 2 : 1;
      s_add(&stripped, " ");
    }
    if (!*s) break;
    char c = *s;
    if (c == '\n') {
      s++;
      s_add(&stripped, "\n");
      seg_end("nl");
      /* here-doc bodies start after the newline that ends their command line */
      for (size_t h = 0; h < n_heredocs; h++) {
        const char *hd = heredocs[h];
        const char *delim = hd + 3;
        for (;;) {
          if (!*s) full_check();
          const char *nl = strchr(s, '\n');
          size_t len = nl ? (size_t)(nl - s) : strlen(s);
          const char *line = s;
          s = nl ? nl + 1 : s + len;
          if (hd[0] == 't') while (len && *line == '\t') { line++; len--; }
          if (len == strlen(delim) && strncmp(line, delim, len) == 0) break;
          if (hd[1] == 'u') {
            char *l = strndup(line, len);
            if (!l) deny(DENY_FAILED);
            int expands = has(l, "$(") || has(l, "`") || has(l, "${");
            free(l);
            if (expands) full_check();
          }
        }
        s_add(&stripped, "\n");
      }
      n_heredocs = 0;
      continue;
    }
    if (c == '#') {
      const char *nl = strchr(s, '\n');
      s = nl ? nl : s + strlen(s);
      continue;
    }
    if (c == ';' || c == '&' || c == '|') {
      const char *op;
      if (starts(s, ";;") || starts(s, ";&") || starts(s, "|&")) full_check();
      if (!starts(s, "&>")) {
        if (starts(s, "&&")) op = "&&";
        else if (starts(s, "||")) op = "||";
        else op = c == ';' ? ";" : c == '&' ? "&" : "|";
        s += strlen(op);
        s_add(&stripped, " ");
        s_add(&stripped, op);
        s_add(&stripped, " ");
        if (eq(op, ";")) { seg_end("semi"); pending_op = 0; }
        else if (eq(op, "&")) { seg_end("amp"); pending_op = 0; }
        else { seg_end("op"); pending_op = 1; }
        continue;
      }
    }
    if (c == '(') {
      if (!(eq(expect, "cmd") && empty == 1 && !starts(s, "(("))) full_check();
      s++;
      s_add(&stripped, "( ");
      s_addc(&stack, 'p');
      compound = 1;
      body_empty = 1;
      pending_op = 0;
      continue;
    }
    if (c == ')') {
      if (!(top() == 'p' && body_empty == 0 && !eq(expect, "data") && pending_op == 0)) full_check();
      if (empty == 1) empty = 0;
      seg_end("op");
      pop();
      s++;
      s_add(&stripped, " )");
      closed = 1;
      empty = 0;
      continue;
    }
    if (c == '<' || c == '>' || c == '&' || is_digit(c)) {
      size_t d = 0;
      while (is_digit(s[d])) d++;
      size_t ol = redirect_op(s + d);
      if (ol) {
        char r[4] = {0};
        memcpy(r, s + d, ol);
        s += d + ol;
        s_add(&stripped, " ");
        s_add(&stripped, r);
        s_add(&stripped, " ");
        if (eq(expect, "data") || eq(expect, "target")) full_check();
        if (eq(r, "<<") || eq(r, "<<-")) {
          while (*s == ' ' || *s == '\t') s++;
          char kind;
          size_t n, skip_before, skip_after;
          if ((*s == '\'' || *s == '"') && (n = hd_name_len(s + 1)) && s[1 + n] == *s) { kind = 'q'; skip_before = 1; skip_after = 1; }
          else if (*s == '\\' && (n = hd_name_len(s + 1))) { kind = 'q'; skip_before = 1; skip_after = 0; }
          else if ((n = hd_name_len(s))) { kind = 'u'; skip_before = 0; skip_after = 0; }
          else { full_check(); return; }
          char *hd = xrealloc(NULL, n + 4);
          hd[0] = eq(r, "<<-") ? 't' : 'n';
          hd[1] = kind;
          hd[2] = ':';
          memcpy(hd + 3, s + skip_before, n);
          hd[3 + n] = 0;
          s += skip_before + n + skip_after;
          heredocs = xrealloc(heredocs, (n_heredocs + 1) * sizeof *heredocs);
          heredocs[n_heredocs++] = hd;
          empty = 0;
          continue;
        }
        saved_expect = expect;
        expect = "target";
        empty = 0;
        continue;
      }
    }
    /* a word: plain runs, quotes, escapes and simple $-expansions, up to a blank or an operator */
    s_set(&w, "");
    s_set(&v, "");
    opaque = 0;
    word_dollar = 0;
    word_glob = 0;
    while (*s) {
      if (is_plain_char(*s)) {
        size_t n = 0;
        while (is_plain_char(s[n])) n++;
        s_addn(&w, s, n);
        s_addn(&v, s, n);
        s += n;
      } else if (*s == '\'') {
        const char *q = strchr(s + 1, '\'');
        if (!q) full_check();
        s_add(&w, "'");
        s_addn(&w, s + 1, (size_t)(q - s - 1));
        s_add(&w, "'");
        s_addn(&v, s + 1, (size_t)(q - s - 1));
        s = q + 1;
      } else if (*s == '"' && quoted_escapes(s, '"') >= 0) {
        size_t n = (size_t)quoted_escapes(s, '"');
        char *part = strndup(s + 1, n);
        if (!part) deny(DENY_FAILED);
        s += n + 2;
        if (has(part, "$(") || has(part, "`")) full_check();
        if (has(part, "$")) word_dollar = 1;
        if (has(part, "\\")) opaque = 1;
        s_add(&w, "\"");
        s_add(&w, part);
        s_add(&w, "\"");
        s_add(&v, part);
        free(part);
      } else if (*s == '"') {
        full_check();
      } else if (s[0] == '$' && s[1] == '\'') {
        long n = quoted_escapes(s + 1, '\'');
        if (n < 0) full_check();
        s_add(&w, "$'");
        s_addn(&w, s + 2, (size_t)n);
        s_add(&w, "'");
        s_addn(&v, s + 2, (size_t)n);
        s += n + 3;
        opaque = 1;
      } else if (*s == '\\') {
        if (!s[1]) full_check();
        s_addn(&w, s, 2);
        s_addn(&v, s + 1, 1);
        s += 2;
        opaque = 1;
      } else if (*s == '$') {
        /* ^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[0-9@*#?$!-]) */
        size_t n = 0, k;
        if ((k = name_len(s + 1))) n = 1 + k;
        else if (s[1] == '{' && (k = name_len(s + 2)) && s[2 + k] == '}') n = 3 + k;
        else if (s[1] && strchr("0123456789@*#?$!-", s[1])) n = 2;
        if (!n) full_check(); /* ${x:-…}, $((…)), $"…" and the like */
        s_addn(&w, s, n);
        s_addn(&v, s, n);
        s += n;
        word_dollar = 1;
      } else if (strchr("]*?{}[", *s)) {
        s_addn(&w, s, 1);
        s_addn(&v, s, 1);
        s++;
        word_glob = 1;
      } else {
        break;
      }
    }
    if (!w.n) full_check();
    s_add(&stripped, S(&w));
    was_pending = pending_op;
    pending_op = 0;
    if (eq(expect, "cmd") && !eq(S(&w), "!")) bang = 0;
    if (closed == 1 && !eq(expect, "target")) full_check();
    if (eq(expect, "target")) {
      if (word_dollar == 1) check_vars(S(&w));
      expect = saved_expect;
    } else if (eq(expect, "data")) {
      data++;
      if (data == 1) {
        size_t n = name_len(S(&w));
        if (!(n && n == w.n)) full_check();
      }
      if (data == 2 && !eq(S(&w), "in")) full_check();
    } else if (eq(expect, "arg")) {
      arg_word(S(&w), S(&v));
    } else {
      if (empty == 1 && opaque == 0 && word_dollar == 0 && (word_glob == 0 || eq(S(&w), "{") || eq(S(&w), "}")) && keyword(S(&w))) {
      } else if (eq(S(&w), "[") && empty == 1) {
        empty = 0;
        body_empty = 0;
        expect = "arg";
        set_prog("[");
        pword = 0;
      } else {
        command_word(S(&w), S(&v));
      }
    }
  }
  free(w.p);
  free(v.p);
}

/* (^|[^A-Za-z0-9_.-])\.\.([^A-Za-z0-9_.-]|$) */
static int has_dotdot(const char *t) {
  for (size_t i = 0; t[i] && t[i + 1]; i++) {
    if (t[i] != '.' || t[i + 1] != '.') continue;
    int before = i == 0 || !strchr(NAME_CHARS, t[i - 1]);
    int after = !t[i + 2] || !strchr(NAME_CHARS, t[i + 2]);
    if (before && after) return 1;
  }
  return 0;
}
/* (^|[[:space:]=:"'(])~ */
static int has_tilde(const char *t) {
  for (size_t i = 0; t[i]; i++) {
    if (t[i] != '~') continue;
    if (i == 0 || is_space(t[i - 1]) || strchr("=:\"'(", t[i - 1])) return 1;
  }
  return 0;
}
/* /\./|/\.([[:space:]"']|$)|[^:]// */
static int has_dots(const char *t) {
  if (has(t, "/./")) return 1;
  for (size_t i = 0; t[i]; i++) {
    if (t[i] == '/' && t[i + 1] == '.' && (!t[i + 2] || is_space(t[i + 2]) || t[i + 2] == '"' || t[i + 2] == '\'')) return 1;
    if (t[i] != ':' && t[i + 1] == '/' && t[i + 2] == '/') return 1;
  }
  return 0;
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = xrealloc(NULL, cap);
  for (;;) {
    if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR) continue;
      free(buf);
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* the spool file of one event: microsecond time and pid, so that files sort in event order */
static int spool_write(const char *spool, const char *data, size_t len) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char *file;
  if (asprintf(&file, "%s/%lld%06ld-%d.json", spool, (long long)now.tv_sec, now.tv_nsec / 1000, (int)getpid()) < 0) return 0;
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  free(file);
  if (fd < 0) return 0;
  size_t off = 0;
  while (off < len) {
    ssize_t r = write(fd, data + off, len - off);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += (size_t)r;
  }
  return close(fd) == 0 && off == len;
}

/*
 * `gate-fast --record <spool>`: record-event.sh for every event but PreToolUse,
 * ported the same way. Spool the payload; after a tool call or at the end of a
 * turn, tell the agent in words why the egress gate refused a connection (the
 * next PreToolUse does it too: see main). Recording status is not a security
 * gate: it always exits 0.
 */
static int record(const char *spool) {
  signal(SIGSEGV, SIG_DFL);
  size_t len;
  char *data = read_all(0, &len);
  if (!data) return 0;
  if (!spool_write(spool, data, len)) return 0;
  /* after a tool call (Agent/Task: children have no PostToolUse for other tools), or at the end of a turn
     (once: not when the turn already goes on because of a Stop hook) */
  int post = strstr(data, "\"hook_event_name\":\"PostToolUse\"") != NULL;
  int stop = !post && strstr(data, "\"hook_event_name\":\"Stop\"") && !strstr(data, "\"stop_hook_active\":true");
  if (!post && !stop) return 0;
  char *notices;
  const char *slash = strrchr(spool, '/');
  if (asprintf(&notices, "%.*s/egress-notices", slash ? (int)(slash - spool) : (int)strlen(spool), spool) < 0) return 0;
  struct stat st;
  if (stat(notices, &st) != 0 || st.st_size == 0) return 0;
  int fd = open(notices, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n;
  char *text = read_all(fd, &n);
  close(fd);
  if (!text) return 0;
  int empty_fd = open(notices, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (empty_fd >= 0) close(empty_fd);
  while (n > 0 && text[n - 1] == '\n') text[--n] = 0; /* as $(<file) reads it */
  str out = {0};
  s_add(&out, post ? "{\"hookSpecificOutput\":{\"hookEventName\":\"PostToolUse\",\"additionalContext\":\"" : "{\"decision\":\"block\",\"reason\":\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == 0) continue;
    if (c == '\\') s_add(&out, "\\\\");
    else if (c == '"') s_add(&out, "\\\"");
    else if (c == '\n') s_add(&out, "\\n");
    else if (c < 0x20 || c == 0x7f) s_add(&out, " ");
    else s_addc(&out, (char)c);
  }
  s_add(&out, post ? "\"}}\n" : "\"}\n");
  fwrite(out.p, 1, out.n, stdout);
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && eq(argv[1], "--record")) return record(argv[2]);
  signal(SIGSEGV, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGABRT, on_crash);
  signal(SIGFPE, on_crash);
  signal(SIGILL, on_crash);
  signal(SIGPIPE, SIG_IGN);
  if (argc < 4) deny("ringmaster gate: gate-fast was started without its arguments; denied (fail-closed).");
  node_bin = argv[1];
  gate_js = argv[2];
  size_t plen;
  payload = read_all(0, &plen);
  payload_len = plen;
  if (!payload) deny("ringmaster gate could not read the hook input; denied (fail-closed).");
  /* record the payload for ringmaster's status; recording never blocks the call */
  if (argc > 4 && argv[4][0]) {
    spool_write(argv[4], payload, plen);
    /* the egress gate refused something since the last call: gate.js tells the agent why, beside its decision */
    const char *slash = strrchr(argv[4], '/');
    char *path;
    struct stat nst;
    if (asprintf(&path, "%.*s/egress-notices", slash ? (int)(slash - argv[4]) : (int)strlen(argv[4]), argv[4]) >= 0) {
      if (stat(path, &nst) == 0 && nst.st_size > 0) {
        notices_path = path;
        full_check();
      }
      free(path);
    }
  }
  /* a NUL byte: gate.sh's read would see a different payload; let gate.js decide */
  if (strlen(payload) != plen) full_check();

  /* where ringmaster's own state lives (as gate.js reads it) */
  const char *h = getenv("RINGMASTER_HOME");
  home = strip_slashes(h ? h : "");
  const char *wr = getenv("RINGMASTER_WORKTREE_ROOT");
  if (wr && *wr) {
    wt = strip_slashes(wr);
  } else {
    str d = {0};
    s_add(&d, home);
    s_add(&d, "/worktrees");
    wt = strip_slashes(d.p);
    free(d.p);
  }
  if (!(normal_abs(home) && normal_abs(wt) && !eq(home, "/"))) full_check();
  if (strchr(payload, '\x01') || strchr(payload, '\x02')) full_check();
  home_lc = lower(home);
  wt_lc = lower(wt);

  if (!once("\"tool_name\":\"")) full_check();
  const char *t = strstr(payload, "\"tool_name\":\"") + strlen("\"tool_name\":\"");
  const char *tq = strchr(t, '"');
  char *tool = tq ? strndup(t, (size_t)(tq - t)) : xstrdup(t);
  if (!tool) deny(DENY_FAILED);

  /* programs and tools the policy adds to a gated category (policy.json "commands") are never fast */
  s_set(&extra, " ");
  str policy_path = {0};
  s_add(&policy_path, home);
  s_add(&policy_path, "/policy.json");
  struct stat st;
  if (stat(policy_path.p, &st) == 0 && S_ISREG(st.st_mode)) {
    int fd = open(policy_path.p, O_RDONLY | O_CLOEXEC);
    size_t n;
    char *policy = fd >= 0 ? read_all(fd, &n) : NULL;
    if (fd >= 0) close(fd);
    if (!policy) full_check(); /* gate.sh reads an unreadable policy as empty; gate.js decides here */
    const char *rest = policy;
    for (;;) {
      /* \"commands\"[[:space:]]*:[[:space:]]*\[([^]]*)\] , leftmost */
      const char *hit = rest, *list = NULL, *close_ = NULL;
      while ((hit = strstr(hit, "\"commands\""))) {
        const char *p = hit + strlen("\"commands\"");
        while (is_space(*p)) p++;
        if (*p == ':') {
          p++;
          while (is_space(*p)) p++;
          if (*p == '[' && (close_ = strchr(p + 1, ']'))) { list = p + 1; break; }
        }
        hit++;
      }
      if (!list) break;
      for (const char *q = list; q < close_;) {
        const char *open_q = memchr(q, '"', (size_t)(close_ - q));
        if (!open_q) break;
        const char *end_q = memchr(open_q + 1, '"', (size_t)(close_ - open_q - 1));
        if (!end_q) break;
        s_addn(&extra, open_q + 1, (size_t)(end_q - open_q - 1));
        s_add(&extra, " ");
        q = end_q + 1;
      }
      rest = close_ + 1;
    }
    free(policy);
  }
  free(policy_path.p);
  if (in_list(S(&extra), tool)) full_check();

  if (eq(tool, "Read") || eq(tool, "Glob") || eq(tool, "Grep") || eq(tool, "LS") || eq(tool, "TodoWrite")) _exit(0);
  if (eq(tool, "Write") || eq(tool, "Edit") || eq(tool, "MultiEdit") || eq(tool, "NotebookEdit")) {
    static const char *keys[] = {"file_path", "notebook_path", "path", NULL};
    int seen = 0;
    for (int i = 0; keys[i]; i++) {
      str k = {0};
      s_add(&k, "\"");
      s_add(&k, keys[i]);
      s_add(&k, "\":");
      int present = has(payload, k.p);
      free(k.p);
      if (!present) continue;
      if (!json_string(keys[i])) full_check();
      if (!normal_abs(value)) full_check();
      if (is_state(value)) full_check();
      seen = 1;
    }
    if (seen) _exit(0);
    full_check();
  }
  if (!eq(tool, "Bash")) full_check();

  /* Bash: the command string, decoded from JSON */
  if (!once("\"command\":\"")) full_check();
  char *raw = xstrdup(strstr(payload, "\"command\":\"") + strlen("\"command\":\""));
  char *tmp = replace_all(raw, "\\\\", "\x01");
  free(raw);
  raw = replace_all(tmp, "\\\"", "\x02");
  free(tmp);
  char *quote = strchr(raw, '"');
  if (!quote) full_check();
  *quote = 0;
  tmp = replace_all(raw, "\\n", "\n");
  free(raw);
  raw = replace_all(tmp, "\\t", "\t");
  free(tmp);
  tmp = replace_all(raw, "\\/", "/");
  free(raw);
  raw = tmp;
  if (strchr(raw, '\\')) full_check(); /* \u…, \r, \b, \f: rare, left to gate.js */
  tmp = replace_all(raw, "\x02", "\"");
  free(raw);
  char *cmd = replace_all(tmp, "\x01", "\\");
  free(tmp);

  if (!json_string("cwd")) full_check();
  if (!safe_dir(value)) full_check();

  /* AWS credentials set anywhere in the call */
  if (has(cmd, "AWS_ACCESS_KEY_ID") || has(cmd, "AWS_SECRET_ACCESS_KEY") || has(cmd, "AWS_SESSION_TOKEN") || has(cmd, "AWS_PROFILE") || has(cmd, "AWS_WEB_IDENTITY_TOKEN_FILE")) full_check();
  char *cmd_lc = lower(cmd);
  if (has(cmd_lc, "slack")) slack = 1;
  free(cmd_lc);
  /* a variable whose value (this environment is the one gate.js classifies with) mentions Slack */
  each_var(cmd, slack_var);

  s_set(&stripped, "");
  s_set(&stack, "");
  s_set(&git_sub, "");
  scan(cmd);
  if (!(n_heredocs == 0 && !stack.n && !eq(expect, "target") && !eq(expect, "data") && !wrap[0] && pending_op == 0 && bang == 0)) full_check();
  prog_end();

  /* ringmaster's folder, `..`, `~` and unnormalized paths, and Slack, on the command without here-doc bodies */
  char *st_lc = lower(S(&stripped));
  str wt_slash = {0};
  s_add(&wt_slash, wt_lc);
  s_add(&wt_slash, "/");
  char *stc = replace_all(st_lc, wt_slash.p, " ");
  if (has(stc, "ringmaster") || has(stc, home_lc)) full_check();
  if (has_dotdot(stc)) full_check();
  if (has_tilde(stc)) full_check();
  if (has_dots(stc)) full_check();
  /* a variable set in this call could hold a path or URL that the checks above did not see */
  if (assigned == 1 && has(cmd, "$")) full_check();
  if (slack == 1 && (quiet_only == 0 || compound == 1)) full_check();
  _exit(0);
}
