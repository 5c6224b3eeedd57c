// One job: live status, log lines and interim results from its event stream, the result drawn,
// what can be done with it (cancel, delete, tags, download, the same request as curl), and the
// webhook notifications sent about it.
import {api, follow, Problem} from './api.js';
import {curlBox, curlCommand} from './curl.js';
import {field, h, replace, statusBadge, when} from './dom.js';
import {mitigationView} from './mitigation.js';
import {pubView} from './results.js';
import {answerOf} from './webhooks.js';

const FINAL = new Set(['DONE', 'ERROR', 'CANCELLED']);

function facts(job) {
  const session = job.session_id ? h('a', {href: `#/sessions/${encodeURIComponent(job.session_id)}`,
    id: 'job-session'}, h('code', {}, job.session_id)) : null;
  const rows = [['Program', job.program_id], ['Backend', job.backend],
    ['Created', when(job.creation_date)], ['Session', session]];
  return h('dl', {class: 'facts'}, rows.filter(([, value]) => value).map(([name, value]) => [
    h('dt', {}, name), h('dd', {}, value)]));
}

function notificationsTable(notices) {
  if (!notices.length) return h('p', {class: 'notice'}, 'No webhook notifications for this job.');
  return h('table', {class: 'jobs notifications'},
    h('caption', {class: 'sr-only'}, 'Webhook notifications of this job'),
    h('thead', {}, h('tr', {}, ['Event', 'Sent to', 'State', 'Attempts', 'Answer', 'Updated']
      .map((name) => h('th', {scope: 'col'}, name)))),
    h('tbody', {}, notices.map((n) => h('tr', {},
      h('td', {'data-label': 'Event'}, n.type),
      h('td', {'data-label': 'Sent to'}, n.endpoint_id ? h('a', {href: '#/webhooks'},
        h('code', {}, n.url)) : ['callback ', h('code', {}, n.url)]),
      h('td', {'data-label': 'State'}, n.state),
      h('td', {'data-label': 'Attempts'}, String(n.attempts)),
      h('td', {'data-label': 'Answer'}, answerOf(n)),
      h('td', {'data-label': 'Updated'}, when(n.updated))))));
}

function download(jobId, text) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  const link = h('a', {href: url, download: `job-${jobId}-result.json`, hidden: true});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function render(main, jobId) {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}`;
  const view = {job: null, inputs: null, stream: null};
  const status = h('span', {id: 'job-status', role: 'status'}, 'loading…');
  const message = h('p', {id: 'job-message', role: 'alert', class: 'problem'});
  const results = h('div', {id: 'job-results'}, h('p', {class: 'notice'}, 'No result yet.'));
  const log = h('pre', {class: 'log', id: 'job-log', role: 'log', tabindex: 0,
    'aria-label': 'Log lines'});
  const interim = new Map();
  const cancel = h('button', {type: 'button', class: 'danger', id: 'cancel-job', disabled: true},
    'Cancel job');
  const actions = h('div', {class: 'actions'}, cancel,
    h('button', {type: 'button', class: 'danger', id: 'delete-job', onclick: remove}, 'Delete job'),
    h('button', {type: 'button', class: 'secondary', id: 'download-result', onclick: save},
      'Download result JSON'),
    h('button', {type: 'button', class: 'secondary', id: 'show-job-curl', onclick: showCurl},
      'Show as curl'));
  const tagsForm = h('form', {method: 'dialog', id: 'tags-form', class: 'filters'},
    field('job-tags', 'Tags', h('input', {type: 'text'}), 'Comma-separated; saving replaces them.'),
    h('button', {type: 'submit'}, 'Save tags'),
    h('p', {role: 'status', id: 'tags-state', class: 'notice'}));
  const about = h('div', {id: 'job-facts'});
  const mitigation = h('div', {id: 'job-mitigation'});
  const notices = h('div', {id: 'job-notifications', 'aria-live': 'polite'});
  const curl = h('div', {id: 'job-curl'});
  replace(main, h('section', {'aria-labelledby': 'job-title'},
    h('p', {}, h('a', {href: '#/jobs'}, '← All jobs')),
    h('h2', {id: 'job-title'}, 'Job ', h('code', {}, jobId)),
    h('p', {class: 'job-status-line'}, 'Status: ', status),
    message, about, actions, curl, tagsForm,
    h('h3', {}, 'Mitigation'), mitigation,
    h('h3', {}, 'Result'), results, h('h3', {}, 'Log'), log,
    h('h3', {}, 'Notifications'), notices,
    h('button', {type: 'button', class: 'secondary', id: 'refresh-notifications',
      onclick: loadNotices}, 'Refresh notifications')));
  cancel.addEventListener('click', cancelJob);
  tagsForm.addEventListener('submit', saveTags);

  async function loadNotices() {
    try {
      replace(notices, notificationsTable((await api('GET', `${path}/notifications`)).notifications));
    } catch (problem) { showProblem(problem); }
  }

  function showStatus(value) {
    replace(status, statusBadge(value));
    setTimeout(loadNotices, 1000); // a change's notification follows it, from the deliverer
    cancel.disabled = FINAL.has(value);
    if (view.job) view.job.status = value;
    if (!FINAL.has(value)) return;
    if (view.stream) view.stream.close(); // it ends here anyway: the final status is its last event
    // also when the job was DONE before the page first read it (no stream yet to bring its result)
    if (value === 'DONE' && !view.drawn) onResult(null);
  }

  function showProblem(problem) {
    message.textContent = problem.message;
  }

  function drawResult(result) {
    const pubs = (view.inputs && view.inputs.pubs) || [];
    view.drawn = true;
    replace(results, (result.pub_results || []).map((pub, i) => pubView(pub, pubs[i], i)));
    showMitigation(result);
  }

  function showMitigation(result) {
    const job = view.job || {};
    replace(mitigation, mitigationView(job.program_id,
      (view.inputs && view.inputs.options) || {}, result));
  }

  function drawInterim({pub_index: index, result}) {
    interim.set(index, result);
    const pubs = (view.inputs && view.inputs.pubs) || [];
    replace(results, h('p', {class: 'notice'}, `Interim: ${interim.size} PUB(s) finished so far.`),
      [...interim.entries()].map(([i, pub]) => pubView(pub, pubs[i], i)));
  }

  async function onResult(event) {
    if (event && event.pub_results) { drawResult(event); return; }
    try { drawResult(await api('GET', `${path}/result`)); } catch (problem) { showProblem(problem); }
  }

  async function cancelJob() {
    try { showStatus((await api('POST', `${path}/cancel`)).status); } catch (p) { showProblem(p); }
  }

  async function remove() {
    if (!window.confirm(`Delete job ${jobId}, its result and its log?`)) return;
    try { await api('DELETE', path); location.hash = '#/jobs'; } catch (p) { showProblem(p); }
  }

  async function save() {
    try { download(jobId, await api('GET', `${path}/result`, undefined, {text: true})); }
    catch (problem) { showProblem(problem); }
  }

  async function saveTags(event) {
    event.preventDefault();
    const tags = document.getElementById('job-tags').value.split(',').map((t) => t.trim())
      .filter(Boolean);
    const state = document.getElementById('tags-state');
    try {
      const answer = await api('PUT', `${path}/tags`, {tags});
      state.textContent = `Saved: ${answer.tags.join(', ') || 'no tags'}.`;
    } catch (problem) {
      const first = problem instanceof Problem ? Object.values(problem.errors)[0] : null;
      state.textContent = `Not saved: ${first ? first.join(' ') : problem.message}`;
    }
  }

  function showCurl() {
    const job = view.job || {};
    const inputs = view.inputs || {pubs: []};
    const submission = {program_id: job.program_id, backend: job.backend, pubs: inputs.pubs,
      options: inputs.options, tags: job.tags};
    const commands = [`# the same job again\n${curlCommand('POST', '/v1/jobs', submission)}`,
      `# this job's result\n${curlCommand('GET', `${path}/result?wait=30`)}`].join('\n\n');
    replace(curl, curlBox('job-curl-text', 'The same requests with curl', commands));
  }

  async function start() {
    try {
      [view.job, view.inputs] = await Promise.all([api('GET', path), api('GET', `${path}/inputs`)]);
    } catch (problem) {
      showProblem(problem);
      replace(status, 'unknown');
      return;
    }
    replace(about, facts(view.job));
    showMitigation(null);
    document.getElementById('job-tags').value = (view.job.tags || []).join(', ');
    showStatus(view.job.status);
    view.stream = follow(`${path}/events`, `${path}/events/token`, {
      status: (event) => showStatus(event.status),
      log: (event) => { log.append(`${event.line}\n`); log.scrollTop = log.scrollHeight; },
      interim: drawInterim,
      result: onResult,
      error: (event) => { message.textContent = `The job failed: ${event.message}`; },
    });
  }

  start();
  return () => { if (view.stream) view.stream.close(); };
}
