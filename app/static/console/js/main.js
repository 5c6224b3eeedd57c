// The console's entry point: the key form, and the view the URL's #fragment names (#/jobs,
// #/submit, #/jobs/<id>, #/sessions, #/sessions/<id>, #/webhooks). Only the fragment changes,
// so the page never reloads.
import {api, apiKey, forgetCache, onUnauthorized} from './api.js';
import * as job from './job.js';
import * as jobs from './jobs.js';
import * as sessions from './sessions.js';
import * as submit from './submit.js';
import * as webhooks from './webhooks.js';

const main = document.getElementById('main');
const keyStatus = document.getElementById('key-status');
let leave = () => {};

function route() {
  const hash = location.hash || '#/jobs';
  if (!hash.startsWith('#/')) return;
  leave();
  const [, view, id] = hash.split('/');
  for (const link of document.querySelectorAll('.top nav a')) {
    const current = link.getAttribute('href') === `#/${view}` && !id;
    if (current) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  if (!apiKey.get()) {
    main.replaceChildren(Object.assign(document.createElement('p'), {
      className: 'notice', textContent: 'Enter your API key above to see your jobs.'}));
    leave = () => {};
    document.getElementById('api-key').focus();
    return;
  }
  if (view === 'submit') leave = submit.render(main);
  else if (view === 'webhooks') leave = webhooks.render(main);
  else if (view === 'sessions' && id) leave = sessions.renderOne(main, decodeURIComponent(id));
  else if (view === 'sessions') leave = sessions.render(main);
  else if (view === 'jobs' && id) leave = job.render(main, decodeURIComponent(id));
  else leave = jobs.render(main);
}

async function useKey(event) {
  event.preventDefault();
  const input = document.getElementById('api-key');
  const key = input.value.trim();
  if (!key) { keyStatus.textContent = 'Enter an API key first.'; return; }
  apiKey.set(key);
  forgetCache();
  keyStatus.textContent = 'Checking the key…';
  try {
    await api('GET', '/v1/backends');
    keyStatus.textContent = 'Key accepted; it is kept in this tab only.';
    input.value = '';
    input.placeholder = 'key in use';
    route();
  } catch (problem) {
    if (problem.status !== 401) keyStatus.textContent = `Could not check the key: ${problem.message}`;
  }
}

function forgetKey() {
  apiKey.clear();
  forgetCache();
  document.getElementById('api-key').placeholder = '';
  keyStatus.textContent = 'Key forgotten.';
  route();
}

onUnauthorized(() => {
  apiKey.clear();
  keyStatus.textContent = 'The gateway refused this API key: it is wrong or revoked.';
  keyStatus.classList.add('field-error');
  route();
});

document.getElementById('key-form').addEventListener('submit', (event) => {
  keyStatus.classList.remove('field-error');
  useKey(event);
});
document.getElementById('forget-key').addEventListener('click', forgetKey);
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
if (apiKey.get()) document.getElementById('api-key').placeholder = 'key in use';
route();
