// Error mitigation and suppression: the runtime options the submit view offers (resilience
// level, twirling, dynamical decoupling), and what the job page shows of the mitigation that ran.
import {field, h} from './dom.js';

// where each option path of a problem's `errors` is shown
export const MITIGATION_FIELDS = [
  [/^options\.resilience_level/, 'resilience-level'], [/^options\.resilience\./, 'resilience-level'],
  [/^options\.twirling\.enable_gates/, 'twirl-gates'],
  [/^options\.twirling\.enable_measure/, 'twirl-measure'],
  [/^options\.twirling\./, 'randomizations'],
  [/^options\.dynamical_decoupling\.sequence_type/, 'dd-sequence'],
  [/^options\.dynamical_decoupling\./, 'dd-enable'],
];
export const MITIGATION_IDS = ['resilience-level', 'twirl-gates', 'twirl-measure',
  'randomizations', 'dd-enable', 'dd-sequence'];

const check = (id, label, hint) => field(id, label, h('input', {type: 'checkbox'}), hint);

export function mitigationFields() {
  const levels = h('select', {}, h('option', {value: ''}, 'Default (1 on noisy backends)'),
    [0, 1, 2].map((level) => h('option', {value: level}, String(level))));
  const sequences = h('select', {},
    ['XX', 'XpXm', 'XY4'].map((name) => h('option', {value: name}, name)));
  const randomizations = h('input', {type: 'number', min: 1, inputmode: 'numeric'});
  return h('fieldset', {}, h('legend', {}, 'Error mitigation and suppression'),
    h('div', {class: 'row'},
      field('resilience-level', 'Resilience level', levels,
        'Estimator only: 0 none, 1 readout (TREX), 2 also zero-noise extrapolation.'),
      check('twirl-gates', 'Twirl gates', 'Pauli twirling of 2-qubit gates.'),
      check('twirl-measure', 'Twirl measurements', 'Randomises the readout.'),
      field('randomizations', 'Randomizations', randomizations,
        'Random circuits when twirling; empty: auto.')),
    h('div', {class: 'row'},
      check('dd-enable', 'Dynamical decoupling', 'Pulses on idle qubits (noisy backends).'),
      field('dd-sequence', 'DD sequence', sequences)));
}

/** The estimator alone takes a resilience level. */
export function fitMitigation(estimator) {
  document.getElementById('resilience-level').disabled = !estimator;
}

/** The runtime options the form asks for (only what was set: the library's defaults apply). */
export function mitigationOptions(program) {
  const value = (id) => document.getElementById(id).value.trim();
  const checked = (id) => document.getElementById(id).checked;
  const options = {};
  if (program === 'estimator' && value('resilience-level') !== '') {
    options.resilience_level = Number(value('resilience-level'));
  }
  const twirling = {};
  if (checked('twirl-gates')) twirling.enable_gates = true;
  if (checked('twirl-measure')) twirling.enable_measure = true;
  if (value('randomizations')) twirling.num_randomizations = Number(value('randomizations'));
  if (Object.keys(twirling).length) options.twirling = twirling;
  if (checked('dd-enable')) {
    options.dynamical_decoupling = {enable: true, sequence_type: value('dd-sequence')};
  }
  return options;
}

const MITIGATION_KEYS = ['resilience_level', 'resilience', 'twirling', 'dynamical_decoupling'];
const SAID_ELSEWHERE = new Set(['version', 'shots', 'target_precision', 'circuit_metadata']);

function asked(options) {
  const found = MITIGATION_KEYS.filter((key) => options && options[key] !== undefined);
  return found.map((key) => h('li', {}, h('code', {}, key), ': ',
    h('code', {}, JSON.stringify(options[key]))));
}

function reported(result) {
  const lines = [];
  const add = (where, metadata) => Object.entries(metadata || {})
    .filter(([key]) => !SAID_ELSEWHERE.has(key))
    .forEach(([key, value]) => lines.push(h('li', {}, `${where} `, h('code', {}, key), ': ',
      h('code', {}, JSON.stringify(value)))));
  add('job', result && result.metadata);
  ((result && result.pub_results) || []).forEach((pub, i) => add(`PUB ${i}`, pub.metadata));
  return lines;
}

/** What mitigation the job asked for (its options) and what ran (its result's metadata). */
export function mitigationView(program, options, result) {
  const wanted = asked(options);
  const ran = result ? reported(result) : [];
  const defaults = program === 'estimator' ? 'the library\'s defaults (resilience level 1 on a '
    + 'noisy backend; none on the ideal simulator)' : 'none (no twirling, no decoupling)';
  return [
    wanted.length ? h('ul', {}, wanted) : h('p', {}, `Asked for: ${defaults}.`),
    ran.length ? [h('p', {}, 'Reported by the run:'), h('ul', {}, ran)]
      : h('p', {class: 'notice'}, result ? 'The result reports no mitigation metadata.'
        : 'What ran is reported with the result.')];
}
