// ringmaster dashboard: live updates over server-sent events (the server pushes; this never polls),
// "time in state" kept current locally, and select-all in the approvals inbox. Everything else is plain HTML forms.
'use strict';

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d`;
}

function tick() {
  for (const element of document.querySelectorAll('time.ago')) element.textContent = ago(element.getAttribute('datetime'));
}

function replaceWith(element, markup) {
  const template = document.createElement('template');
  template.innerHTML = markup.trim();
  const next = template.content.firstElementChild;
  element.replaceWith(next);
  return next;
}

/** Typed notes, chosen durations and ticked boxes survive the inbox being redrawn. */
function keepInputs(from, to) {
  for (const input of from.querySelectorAll('input[name], select[name]')) {
    const twin = to.querySelector(`[name="${CSS.escape(input.name)}"]${input.type === 'checkbox' ? `[value="${CSS.escape(input.value)}"]` : ''}`);
    if (!twin) continue;
    if (input.type === 'checkbox') twin.checked = input.checked;
    else if (input.type !== 'hidden') twin.value = input.value;
  }
}

function wireSelectAll() {
  const all = document.getElementById('select-all');
  if (all) all.addEventListener('change', () => document.querySelectorAll('input[name="ids"]').forEach((box) => (box.checked = all.checked)));
}

function connect() {
  const live = document.getElementById('live');
  if (!live) return; // the login page
  const source = new EventSource('/events');
  source.onopen = () => live.classList.add('on');
  source.onerror = () => live.classList.remove('on');
  const rows = () => document.getElementById('fleet-rows');
  const single = () => document.querySelector('table.single');
  const controls = document.querySelector('section.controls');

  source.addEventListener('row', (event) => {
    const { id, html } = JSON.parse(event.data);
    const existing = document.getElementById(`agent-${id}`);
    if (existing) {
      const next = replaceWith(existing, html);
      if (controls && next.dataset.name === controls.dataset.agent) refreshTranscript(controls.dataset.agent);
    } else if (rows() && !single()) {
      const holder = document.createElement('tbody');
      holder.innerHTML = html.trim();
      rows().append(holder.firstElementChild);
    }
    tick();
  });
  source.addEventListener('remove', (event) => document.getElementById(`agent-${JSON.parse(event.data).id}`)?.remove());
  source.addEventListener('summary', (event) => {
    const summary = document.getElementById('fleet-summary');
    if (summary) replaceWith(summary, JSON.parse(event.data).html);
  });
  source.addEventListener('approvals', (event) => {
    const { count, html } = JSON.parse(event.data);
    const badge = document.getElementById('pending-count');
    if (badge) {
      badge.textContent = String(count);
      badge.classList.toggle('hot', count > 0);
    }
    const section = document.getElementById('approvals');
    if (!section) return;
    const template = document.createElement('template');
    template.innerHTML = html.trim();
    const next = template.content.firstElementChild;
    if (next.dataset.ids === section.dataset.ids) return;
    keepInputs(section, next);
    section.replaceWith(next);
    wireSelectAll();
    tick();
  });
}

/** The newest turn is at the bottom of the transcript: show it. */
function scrollToEnd(element) {
  if (element) element.scrollTop = element.scrollHeight;
}

let transcriptLoading = false;
async function refreshTranscript(name) {
  if (transcriptLoading) return;
  transcriptLoading = true;
  try {
    const response = await fetch(`/agents/${encodeURIComponent(name)}/transcript`, { credentials: 'same-origin' });
    const section = document.getElementById('transcript');
    if (response.ok && section) scrollToEnd(replaceWith(section, await response.text()));
  } finally {
    transcriptLoading = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  tick();
  setInterval(tick, 1000);
  wireSelectAll();
  scrollToEnd(document.getElementById('transcript'));
  connect();
});
