// The submit view: a program (OpenQASM), a backend, shots or observables, options. A refused
// submission shows each of the problem's `errors` next to the field it names.
import {api, backends, Problem} from './api.js';
import {EXAMPLES} from './examples.js';
import {field, fieldProblem, h, replace} from './dom.js';
import {curlBox, curlCommand} from './curl.js';
import {fitMitigation, MITIGATION_FIELDS, MITIGATION_IDS, mitigationFields, mitigationOptions}
  from './mitigation.js';

// where each path of a problem's `errors` is shown
const FIELDS = [
  [/^pubs\.\d+\.circuit/, 'circuit'], [/^pubs\.\d+\.shots/, 'shots'],
  [/^pubs\.\d+\.parameter_values/, 'parameters'], [/^pubs\.\d+\.observables/, 'observables'],
  [/^pubs\.\d+\.precision/, 'precision'], [/^backend/, 'backend'], [/^program_id/, 'program'],
  [/^options\.seed/, 'seed'], [/^options\.optimization_level/, 'optimization-level'],
  [/^tags/, 'tags'], ...MITIGATION_FIELDS,
];
const IDS = ['circuit', 'shots', 'parameters', 'observables', 'precision', 'backend', 'program',
  'seed', 'optimization-level', 'tags', ...MITIGATION_IDS];

export function fieldFor(path) {
  const found = FIELDS.find(([pattern]) => pattern.test(path));
  return found ? found[1] : null;
}

function backendLabel(backend) {
  const kind = backend.provider === 'ibm_quantum' ? 'IBM Quantum' : 'local';
  const noise = backend.simulated ? (backend.noisy ? 'noisy simulator' : 'ideal simulator')
    : 'device';
  return `${backend.name} — ${backend.num_qubits} qubits, ${noise}, ${kind}`;
}

function form() {
  const exampleSelect = h('select', {}, h('option', {value: ''}, 'Choose an example…'),
    Object.entries(EXAMPLES).map(([name, example]) => h('option', {value: name}, example.title)));
  const program = h('fieldset', {id: 'program', class: 'choices', 'aria-describedby': 'program-error'},
    h('legend', {}, 'Primitive'),
    h('label', {}, h('input', {type: 'radio', name: 'program', value: 'sampler', checked: true}),
      ' Sampler (counts)'),
    h('label', {}, h('input', {type: 'radio', name: 'program', value: 'estimator'}),
      ' Estimator (expectation values)'),
    h('p', {class: 'field-error', id: 'program-error'}));
  return h('form', {id: 'submit-form', method: 'dialog', novalidate: true},
    field('example', 'Start from an example', exampleSelect),
    field('circuit', 'Circuit', h('textarea', {rows: 10, spellcheck: 'false', required: true}),
      'OpenQASM 2 or 3; the header says which.'),
    h('div', {class: 'row'},
      field('backend', 'Backend', h('select', {required: true}, h('option', {value: ''}, 'Loading…'))),
      program),
    h('div', {class: 'row'},
      field('shots', 'Shots', h('input', {type: 'number', min: 1, value: 1024, inputmode: 'numeric'}),
        'Sampler only.'),
      field('parameters', 'Parameter values (JSON)', h('input', {type: 'text', spellcheck: 'false'}),
        'For example {"theta": [0, 0.5, 1]}; empty when the circuit has none.')),
    h('div', {class: 'row'},
      field('observables', 'Observables', h('input', {type: 'text', spellcheck: 'false'}),
        'Estimator only: a Pauli string such as ZZ, or JSON such as ["ZZ", {"XX": 0.5}].'),
      field('precision', 'Precision', h('input', {type: 'number', step: 'any', min: 0}),
        'Estimator only; optional.')),
    h('fieldset', {}, h('legend', {}, 'Options'),
      h('div', {class: 'row'},
        field('seed', 'Seed', h('input', {type: 'number', min: 0, inputmode: 'numeric'}),
          'Optional: the same seed gives the same counts.'),
        field('optimization-level', 'Optimization level',
          h('select', {}, [0, 1, 2, 3].map((level) => h('option', {value: level, selected: level === 1},
            String(level))))),
        field('tags', 'Tags', h('input', {type: 'text'}), 'Comma-separated.'))),
    mitigationFields(),
    h('div', {id: 'submit-problem', class: 'problem', role: 'alert', tabindex: -1}),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Submit'),
      h('button', {type: 'button', class: 'secondary', id: 'show-curl'}, 'Show as curl')),
    h('div', {id: 'submit-curl'}));
}

/** Shots for the sampler; observables and precision for the estimator. */
function fitProgram() {
  const estimator = document.querySelector('input[name=program]:checked').value === 'estimator';
  document.getElementById('shots').disabled = estimator;
  document.getElementById('observables').disabled = !estimator;
  document.getElementById('precision').disabled = !estimator;
  fitMitigation(estimator);
}

function useExample(name) {
  const example = EXAMPLES[name];
  if (!example) return;
  const set = (id, value) => { document.getElementById(id).value = value ?? ''; };
  set('circuit', example.circuit);
  set('parameters', example.parameters);
  set('observables', example.observables);
  set('precision', example.precision);
  if (example.shots) set('shots', example.shots);
  if ([...document.getElementById('backend').options].some((o) => o.value === example.backend)) {
    set('backend', example.backend);
  }
  document.querySelector(`input[name=program][value=${example.program}]`).checked = true;
  fitProgram();
}

/** The request body from the form; a Problem (422-like) for what cannot even be sent. */
export function body() {
  const value = (id) => document.getElementById(id).value.trim();
  const program = document.querySelector('input[name=program]:checked').value;
  const pub = {circuit: document.getElementById('circuit').value};
  const errors = {};
  const json = (id, path, fallback) => {
    try {
      return JSON.parse(value(id));
    } catch {
      if (fallback !== undefined) return fallback;
      errors[path] = ['this is not valid JSON'];
      return undefined;
    }
  };
  if (value('parameters')) pub.parameter_values = json('parameters', 'pubs.0.parameter_values');
  if (program === 'sampler' && value('shots')) pub.shots = Number(value('shots'));
  if (program === 'estimator') {
    const text = value('observables');
    pub.observables = /^[[{"]/.test(text) ? json('observables', 'pubs.0.observables') : text;
    if (value('precision')) pub.precision = Number(value('precision'));
  }
  const options = {optimization_level: Number(value('optimization-level')),
    ...mitigationOptions(program)};
  if (value('seed')) options.seed = Number(value('seed'));
  const tags = value('tags').split(',').map((tag) => tag.trim()).filter(Boolean);
  if (Object.keys(errors).length) {
    throw new Problem(422, {detail: 'Some fields are not valid JSON.', errors});
  }
  return {program_id: program, backend: value('backend'), pubs: [pub], options, tags};
}

function clearProblems() {
  IDS.forEach((id) => fieldProblem(id, ''));
  replace(document.getElementById('submit-problem'));
}

/** Put the caret where the parser stopped (1-based line and column). */
function pointAt(line, column) {
  const editor = document.getElementById('circuit');
  const lines = editor.value.split('\n');
  const before = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  const at = Math.min(editor.value.length, before + Math.max(0, column - 1));
  editor.setSelectionRange(at, at);
}

export function showProblem(problem) {
  const unplaced = [];
  let first = null;
  for (const [path, messages] of Object.entries(problem.errors)) {
    const id = fieldFor(path);
    const text = messages.join(' ');
    if (id && fieldProblem(id, text)) first = first || id;
    else unplaced.push(`${path}: ${text}`);
  }
  const summary = document.getElementById('submit-problem');
  replace(summary, h('p', {}, h('strong', {}, 'The gateway refused the job: '), problem.message),
    unplaced.length ? h('ul', {}, unplaced.map((text) => h('li', {}, text))) : null);
  if (first === 'circuit' && problem.problem.line) pointAt(problem.problem.line, problem.problem.column);
  (first ? document.getElementById(first) : summary).focus();
}

async function submit() {
  clearProblems();
  try {
    const job = await api('POST', '/v1/jobs', body());
    location.hash = `#/jobs/${encodeURIComponent(job.id)}`;
  } catch (problem) {
    if (problem instanceof Problem) showProblem(problem); else throw problem;
  }
}

function showCurl() {
  let command;
  try {
    command = curlCommand('POST', '/v1/jobs', body());
  } catch (problem) {
    showProblem(problem);
    return;
  }
  replace(document.getElementById('submit-curl'),
    curlBox('curl-text', 'The same request with curl', command));
}

async function fillBackends() {
  const select = document.getElementById('backend');
  try {
    const list = await backends();
    replace(select, list.map((b) => h('option', {value: b.name}, backendLabel(b))));
    select.value = list.some((b) => b.name === 'aer_simulator') ? 'aer_simulator' : list[0]?.name;
  } catch (problem) {
    replace(select, h('option', {value: ''}, 'No backends (enter a valid API key)'));
    fieldProblem('backend', problem.message);
  }
}

export function render(main) {
  replace(main, h('section', {'aria-labelledby': 'submit-title'},
    h('h2', {id: 'submit-title'}, 'Submit a job'), form()));
  const submitForm = document.getElementById('submit-form');
  submitForm.addEventListener('submit', (event) => { event.preventDefault(); submit(); });
  document.getElementById('example').addEventListener('change', (e) => useExample(e.target.value));
  document.getElementById('show-curl').addEventListener('click', showCurl);
  document.getElementById('program').addEventListener('change', fitProgram);
  fitProgram();
  fillBackends().then(() => { if (!document.getElementById('circuit').value) useExample('bell'); });
  return () => {};
}
