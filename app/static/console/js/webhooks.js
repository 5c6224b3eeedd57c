// The webhooks view: the tenant's endpoints, each with its recent delivery attempts; a form to add
// one (its secret is shown once, here, and never again), a test event, and delete.
import {api, Problem} from './api.js';
import {field, fieldProblem, h, replace, when} from './dom.js';

const EVENTS = ['job.queued', 'job.running', 'job.done', 'job.error', 'job.cancelled',
  'webhook.disabled'];
const SHOWN_ATTEMPTS = 10;

/** The attempts as a table, newest first (also used by the job view for its notifications). */
export function attemptsTable(attempts, caption) {
  if (!attempts.length) return h('p', {class: 'notice'}, 'No delivery attempts yet.');
  return h('table', {class: 'jobs attempts'},
    h('caption', {class: 'sr-only'}, caption),
    h('thead', {}, h('tr', {}, ['When', 'Event', 'Attempt', 'Outcome', 'Answer', 'Took']
      .map((name) => h('th', {scope: 'col'}, name)))),
    h('tbody', {}, attempts.map((a) => h('tr', {},
      h('td', {'data-label': 'When'}, when(a.at)),
      h('td', {'data-label': 'Event'}, a.type, a.job_id ? [' of ', h('a',
        {href: `#/jobs/${encodeURIComponent(a.job_id)}`}, h('code', {}, a.job_id.slice(0, 8)))]
        : null),
      h('td', {'data-label': 'Attempt'}, String(a.attempt)),
      h('td', {'data-label': 'Outcome'}, a.outcome),
      h('td', {'data-label': 'Answer'}, answerOf(a)),
      h('td', {'data-label': 'Took'}, `${a.duration_ms} ms`)))));
}

export function answerOf(attempt) {
  return [attempt.status_code, attempt.error].filter((part) => part).join(': ') || '—';
}

function createForm() {
  const events = h('fieldset', {class: 'choices', id: 'webhook-events'},
    h('legend', {}, 'Events'), EVENTS.map((name) => h('label', {},
      h('input', {type: 'checkbox', name: 'event', value: name, checked: name === 'job.done'}),
      ` ${name}`)),
    h('p', {class: 'field-error', id: 'webhook-events-error'}));
  return h('form', {method: 'dialog', id: 'webhook-form', class: 'webhook-form'},
    field('webhook-url', 'Endpoint URL', h('input', {type: 'url', required: true,
      placeholder: 'https://…'}), 'https://, on a public address: the gateway will POST signed events there.'),
    events,
    field('webhook-description', 'Description', h('input', {type: 'text', maxlength: 256})),
    h('button', {type: 'submit'}, 'Add endpoint'));
}

function endpointCard(endpoint, attempts, actions) {
  const facts = [['Id', endpoint.id], ['Events', endpoint.events.join(', ')],
    ['State', endpoint.enabled ? 'enabled' : `disabled since ${when(endpoint.disabled_at)}`],
    ['Failing since', when(endpoint.failing_since)], ['Description', endpoint.description],
    ['Created', when(endpoint.created)]];
  const title = `endpoint-${endpoint.id}`;
  return h('article', {class: 'endpoint', 'data-endpoint': endpoint.id, 'aria-labelledby': title},
    h('h3', {id: title}, h('code', {}, endpoint.url)),
    h('dl', {class: 'facts'}, facts.filter(([, value]) => value).map(([name, value]) => [
      h('dt', {}, name), h('dd', {}, value)])),
    h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'secondary', onclick: () => actions.test(endpoint),
        'aria-label': `Send a test event to ${endpoint.url}`}, 'Send a test event'),
      endpoint.enabled ? null : h('button', {type: 'button', class: 'secondary',
        onclick: () => actions.enable(endpoint)}, 'Enable again'),
      h('button', {type: 'button', class: 'danger', onclick: () => actions.remove(endpoint),
        'aria-label': `Delete the endpoint ${endpoint.url}`}, 'Delete endpoint')),
    h('h4', {}, 'Recent deliveries'),
    attemptsTable(attempts.slice(0, SHOWN_ATTEMPTS), `Deliveries to ${endpoint.url}, newest first`));
}

export function render(main) {
  const list = h('div', {id: 'webhook-list', 'aria-live': 'polite'});
  const message = h('p', {id: 'webhooks-message', role: 'alert', class: 'problem'});
  const secret = h('div', {id: 'webhook-secret'});
  const form = createForm();
  replace(main, h('section', {'aria-labelledby': 'webhooks-title'},
    h('h2', {id: 'webhooks-title'}, 'Webhooks'),
    h('p', {class: 'notice'}, 'Signed, retried notifications of your jobs\' events ',
      '(Standard Webhooks: verify them with the endpoint\'s secret).'),
    message, form, secret,
    h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary',
      id: 'refresh-webhooks', onclick: load}, 'Refresh')),
    list));
  form.addEventListener('submit', create);
  const actions = {test: sendTest, remove, enable};
  const timer = setInterval(load, 3000); // deliveries come from another process

  async function load() {
    try {
      const {webhooks} = await api('GET', '/v1/webhooks');
      const attempts = await Promise.all(webhooks.map((endpoint) => api('GET',
        `/v1/webhooks/${encodeURIComponent(endpoint.id)}/deliveries`).then((a) => a.deliveries)));
      replace(list, webhooks.length ? webhooks.map((endpoint, i) => endpointCard(endpoint,
        attempts[i], actions)) : h('p', {class: 'notice'}, 'No endpoints yet.'));
    } catch (problem) {
      message.textContent = problem.message;
    }
  }

  async function create(event) {
    event.preventDefault();
    for (const id of ['webhook-url', 'webhook-description']) fieldProblem(id, '');
    document.getElementById('webhook-events-error').textContent = '';
    const body = {url: document.getElementById('webhook-url').value.trim(),
      events: [...form.querySelectorAll('input[name=event]:checked')].map((box) => box.value)};
    const description = document.getElementById('webhook-description').value.trim();
    if (description) body.description = description;
    try {
      const created = await api('POST', '/v1/webhooks', body);
      replace(secret, h('div', {class: 'secret'},
        h('p', {}, 'Endpoint added. Keep its secret now: it is not shown again.'),
        field('webhook-secret-value', 'Signing secret', h('input', {type: 'text', readonly: true,
          value: created.secret, spellcheck: 'false'}))));
      form.reset();
      load();
    } catch (problem) {
      showProblem(problem);
    }
  }

  function showProblem(problem) {
    const errors = problem instanceof Problem ? problem.errors : {};
    const places = {url: 'webhook-url', description: 'webhook-description'};
    let placed = false;
    for (const [path, messages] of Object.entries(errors)) {
      const text = messages.join(' ');
      if (path.startsWith('events')) {
        document.getElementById('webhook-events-error').textContent = text;
        placed = true;
      } else if (places[path]) placed = fieldProblem(places[path], text) || placed;
    }
    message.textContent = placed ? '' : problem.message;
  }

  async function sendTest(endpoint) {
    try {
      await api('POST', `/v1/webhooks/${encodeURIComponent(endpoint.id)}/test`);
      message.textContent = '';
      setTimeout(load, 500);
    } catch (problem) { message.textContent = problem.message; }
  }

  async function enable(endpoint) {
    try { await api('POST', `/v1/webhooks/${encodeURIComponent(endpoint.id)}/enable`); load(); }
    catch (problem) { message.textContent = problem.message; }
  }

  async function remove(endpoint) {
    if (!window.confirm(`Delete the endpoint ${endpoint.url}?`)) return;
    try { await api('DELETE', `/v1/webhooks/${encodeURIComponent(endpoint.id)}`); load(); }
    catch (problem) { message.textContent = problem.message; }
  }

  load();
  return () => clearInterval(timer);
}
