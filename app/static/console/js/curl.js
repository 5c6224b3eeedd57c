// The console's requests as curl commands, with a placeholder where the key goes.
import {field, h, shellQuote} from './dom.js';

export function curlCommand(method, path, body) {
  const parts = [`curl -sS -X ${method} ${shellQuote(location.origin + path)}`,
    '-H "Authorization: Bearer $GATEWAY_KEY"'];
  if (body !== undefined) {
    parts.push("-H 'Content-Type: application/json'", `-d ${shellQuote(JSON.stringify(body))}`);
  }
  return parts.join(' \\\n  ');
}

/** The commands in a read-only text box, with a button that copies them. */
export function curlBox(id, label, text) {
  const state = h('span', {role: 'status', class: 'notice'});
  const box = h('textarea', {class: 'curl', rows: Math.min(12, text.split('\n').length + 1),
    readonly: true}, text);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      state.textContent = 'Copied.';
    } catch {
      box.focus();
      box.select();
      state.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
    }
  }
  return h('div', {},
    field(id, label, box, 'Set GATEWAY_KEY to your key first: the console never puts it in a command.'),
    h('div', {class: 'actions'}, h('button', {type: 'button', class: 'secondary', onclick: copy},
      'Copy to clipboard'), state));
}
