// The jobs view: the tenant's jobs, newest first, filtered and paged by the gateway's cursor, and
// kept current by the tenant's event stream (GET /v1/events).
import {api, backends, follow} from './api.js';
import {field, h, replace, statusBadge, when} from './dom.js';

const STATUSES = ['INITIALIZING', 'QUEUED', 'RUNNING', 'DONE', 'ERROR', 'CANCELLED'];
const PAGE_SIZES = [5, 20, 50, 100];

function filtersForm(filters) {
  const status = h('select', {}, h('option', {value: ''}, 'Any'),
    STATUSES.map((s) => h('option', {value: s, selected: s === filters.status}, s)));
  const backend = h('select', {}, h('option', {value: ''}, 'Any'));
  return h('form', {class: 'filters', id: 'filters', method: 'dialog', role: 'search',
    'aria-label': 'Filter jobs'},
  field('filter-status', 'Status', status),
  field('filter-backend', 'Backend', backend),
  field('filter-tag', 'Tag', h('input', {type: 'text', value: filters.tag || ''})),
  field('filter-limit', 'Per page', h('select', {}, PAGE_SIZES.map(
    (size) => h('option', {value: size, selected: size === filters.limit}, String(size))))),
  h('button', {type: 'submit'}, 'Apply filters'),
  h('button', {type: 'button', class: 'secondary', id: 'clear-filters'}, 'Clear'));
}

function row(job) {
  const link = h('a', {href: `#/jobs/${encodeURIComponent(job.id)}`}, h('code', {}, job.id.slice(0, 8)));
  link.setAttribute('aria-label', `Job ${job.id}`);
  return h('tr', {'data-job': job.id},
    h('td', {'data-label': 'Job'}, link),
    h('td', {'data-label': 'Status', class: 'status-cell'}, statusBadge(job.status)),
    h('td', {'data-label': 'Program'}, job.program_id),
    h('td', {'data-label': 'Backend'}, job.backend),
    h('td', {'data-label': 'Created'}, when(job.creation_date)),
    h('td', {'data-label': 'Tags'}, (job.tags || []).map((tag) => h('span', {class: 'tag'}, tag))));
}

function table(jobs) {
  if (!jobs.length) return h('p', {class: 'notice'}, 'No jobs match. Submit one from "Submit a job".');
  return h('table', {class: 'jobs'},
    h('caption', {class: 'sr-only'}, 'Jobs, newest first'),
    h('thead', {}, h('tr', {}, ['Job', 'Status', 'Program', 'Backend', 'Created', 'Tags']
      .map((name) => h('th', {scope: 'col'}, name)))),
    h('tbody', {}, jobs.map(row)));
}

export function render(main) {
  const filters = {status: '', backend: '', tag: '', limit: 20};
  const cursors = [null]; // cursors[i] opens page i
  let page = 0;
  let reloadTimer = null;
  let newest = 0; // creation time of the newest job shown: older events are replays
  const list = h('div', {id: 'job-list', 'aria-live': 'polite', 'aria-busy': 'true'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  const live = h('p', {class: 'notice', id: 'live-state'}, 'Live updates: connecting…');
  replace(main, h('section', {'aria-labelledby': 'jobs-title'},
    h('h2', {id: 'jobs-title'}, 'Jobs'), filtersForm(filters), live, list, pager));

  async function load() {
    const query = new URLSearchParams({limit: filters.limit});
    if (filters.status) query.set('status', filters.status);
    if (filters.backend) query.set('backend', filters.backend);
    if (filters.tag) query.set('tags', filters.tag);
    if (cursors[page]) query.set('cursor', cursors[page]);
    list.setAttribute('aria-busy', 'true');
    try {
      const answer = await api('GET', `/v1/jobs?${query}`);
      cursors[page + 1] = answer.next_cursor;
      newest = Math.max(0, ...answer.jobs.map((job) => Date.parse(job.creation_date) || 0));
      replace(list, table(answer.jobs));
      drawPager(answer.next_cursor);
    } catch (problem) {
      replace(list, h('p', {class: 'problem', role: 'alert'}, problem.message));
    }
    list.setAttribute('aria-busy', 'false');
  }

  function drawPager(next) {
    const go = (to) => () => { page = to; load(); };
    replace(pager,
      h('button', {type: 'button', class: 'secondary', disabled: page === 0, onclick: go(page - 1)},
        'Newer jobs'),
      h('span', {}, `Page ${page + 1}`),
      h('button', {type: 'button', class: 'secondary', disabled: !next, onclick: go(page + 1)},
        'Older jobs'));
  }

  function applyFilters(event) {
    event.preventDefault();
    filters.status = document.getElementById('filter-status').value;
    filters.backend = document.getElementById('filter-backend').value;
    filters.tag = document.getElementById('filter-tag').value.trim();
    filters.limit = Number(document.getElementById('filter-limit').value);
    cursors.length = 1;
    page = 0;
    load();
  }

  /** A status change: update the row it concerns, or reload page 1 when a new job appears. */
  function onStatus(event) {
    const cell = list.querySelector(`tr[data-job="${CSS.escape(event.job_id)}"] .status-cell`);
    if (cell) replace(cell, statusBadge(event.status));
    else if (page === 0 && !reloadTimer && Date.parse(event.at) >= newest) {
      reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, 300);
    }
  }

  document.getElementById('filters').addEventListener('submit', applyFilters);
  document.getElementById('clear-filters').addEventListener('click', (event) => {
    document.getElementById('filters').reset();
    document.getElementById('filter-tag').value = '';
    applyFilters(event);
  });
  backends().then((found) => document.getElementById('filter-backend')?.append(
    ...found.map((b) => h('option', {value: b.name}, b.name)))).catch(() => {});
  load();
  const stream = follow('/v1/events', '/v1/events/token', {
    status: onStatus,
    onState: (text) => { live.textContent = `Live updates: ${text}`; },
  });
  return () => { stream.close(); clearTimeout(reloadTimer); };
}
