// Sessions and batches: the tenant's sessions (#/sessions), and one session with its jobs
// (#/sessions/<id>); an open one can be closed (its jobs finish) or cancelled (its jobs end too).
import {api} from './api.js';
import {h, replace, statusBadge, when} from './dom.js';

const COUNTED = ['QUEUED', 'RUNNING', 'DONE', 'ERROR', 'CANCELLED'];

function counts(jobs) {
  const parts = COUNTED.filter((status) => jobs[status]).map((status) => `${jobs[status]} ${status}`);
  return parts.join(', ') || 'no jobs';
}

function sessionLink(session) {
  return h('a', {href: `#/sessions/${encodeURIComponent(session.id)}`},
    h('code', {}, session.id.slice(0, 12)));
}

function buttons(session, actions) {
  if (!session.accepting_jobs) return null;
  return h('div', {class: 'actions'},
    h('button', {type: 'button', class: 'secondary', onclick: () => actions.close(session),
      'aria-label': `Close the session ${session.id}`}, 'Close session'),
    h('button', {type: 'button', class: 'danger', onclick: () => actions.cancel(session),
      'aria-label': `Cancel the session ${session.id}`}, 'Cancel session'));
}

function table(sessions, actions) {
  if (!sessions.length) return h('p', {class: 'notice'}, 'No sessions yet.');
  return h('table', {class: 'jobs sessions'},
    h('caption', {class: 'sr-only'}, 'Your sessions, newest first'),
    h('thead', {}, h('tr', {}, ['Session', 'Backend', 'Mode', 'State', 'Jobs', 'Created', '']
      .map((name) => h('th', {scope: 'col'}, name)))),
    h('tbody', {}, sessions.map((s) => h('tr', {'data-session': s.id},
      h('td', {'data-label': 'Session'}, sessionLink(s)),
      h('td', {'data-label': 'Backend'}, s.backend),
      h('td', {'data-label': 'Mode'}, s.mode),
      h('td', {'data-label': 'State', class: 'state-cell'}, s.state),
      h('td', {'data-label': 'Jobs'}, counts(s.jobs)),
      h('td', {'data-label': 'Created'}, when(s.created)),
      h('td', {'data-label': 'Actions'}, buttons(s, actions))))));
}

function facts(session) {
  const rows = [['Backend', session.backend], ['Mode', session.mode], ['State', session.state],
    ['Accepting jobs', session.accepting_jobs ? 'yes' : 'no'],
    ['Max TTL', `${session.max_ttl} s`], ['Interactive TTL', `${session.interactive_ttl} s`],
    ['Worker kept for', session.active_ttl === null ? '' : `${session.active_ttl} s more`],
    ['Created', when(session.created)], ['Closed', when(session.closed_at)],
    ['Last job started', when(session.last_job_started)], ['Jobs', counts(session.jobs)]];
  return h('dl', {class: 'facts', id: 'session-facts'}, rows.filter(([, value]) => value)
    .map(([name, value]) => [h('dt', {}, name), h('dd', {}, value)]));
}

function jobList(jobs) {
  if (!jobs.length) return h('p', {class: 'notice'}, 'No jobs in this session yet.');
  return h('ul', {class: 'session-jobs'}, jobs.map((job) => h('li', {},
    h('a', {href: `#/jobs/${encodeURIComponent(job.id)}`}, h('code', {}, job.id.slice(0, 8))),
    ' ', statusBadge(job.status))));
}

/** The actions on a session, then `done()` (a refresh); problems go to `message`. */
function sessionActions(message, done) {
  async function act(session, verb) {
    try {
      await api('POST', `/v1/sessions/${encodeURIComponent(session.id)}/${verb}`);
      message.textContent = '';
      done();
    } catch (problem) { message.textContent = problem.message; }
  }
  return {
    close: (session) => act(session, 'close'),
    cancel: (session) => {
      if (window.confirm(`Cancel the session ${session.id} and its queued and running jobs?`)) {
        act(session, 'cancel');
      }
    },
  };
}

export function render(main) {
  const list = h('div', {id: 'session-list', 'aria-live': 'polite'});
  const message = h('p', {id: 'sessions-message', role: 'alert', class: 'problem'});
  replace(main, h('section', {'aria-labelledby': 'sessions-title'},
    h('h2', {id: 'sessions-title'}, 'Sessions'),
    h('p', {class: 'notice'}, 'A dedicated session keeps a worker for its jobs while it is ',
      'active; a batch runs its jobs side by side. Jobs join one with session_id.'),
    message, list));
  const actions = sessionActions(message, load);
  const timer = setInterval(load, 3000);

  async function load() {
    try { replace(list, table((await api('GET', '/v1/sessions?limit=50')).sessions, actions)); }
    catch (problem) { message.textContent = problem.message; }
  }

  load();
  return () => clearInterval(timer);
}

export function renderOne(main, sessionId) {
  const path = `/v1/sessions/${encodeURIComponent(sessionId)}`;
  const about = h('div', {id: 'session-about', 'aria-live': 'polite'});
  const jobs = h('div', {id: 'session-jobs'});
  const message = h('p', {id: 'session-message', role: 'alert', class: 'problem'});
  replace(main, h('section', {'aria-labelledby': 'session-title'},
    h('p', {}, h('a', {href: '#/sessions'}, '← All sessions')),
    h('h2', {id: 'session-title'}, 'Session ', h('code', {}, sessionId)),
    message, about, h('h3', {}, 'Its jobs'), jobs));
  const actions = sessionActions(message, load);
  const timer = setInterval(load, 3000);

  async function load() {
    try {
      const [session, listed] = await Promise.all([api('GET', path),
        api('GET', `/v1/jobs?session_id=${encodeURIComponent(sessionId)}&limit=100`)]);
      replace(about, facts(session), buttons(session, actions));
      replace(jobs, jobList(listed.jobs));
    } catch (problem) { message.textContent = problem.message; }
  }

  load();
  return () => clearInterval(timer);
}
