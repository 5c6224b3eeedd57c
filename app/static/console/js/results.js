// Which chart fits a PUB's result: counts -> histogram, counts over a sweep -> a plot against the
// parameter, expectation values -> error bars; anything else is shown as JSON.
import {expectationChart, histogram, sweepPlot} from './charts.js';
import {h} from './dom.js';

const flat = (value) => (Array.isArray(value) ? value.flat(Infinity) : [value]);

function observableLabel(observable) {
  if (typeof observable === 'string') return observable;
  if (observable && typeof observable === 'object') {
    return Object.entries(observable).map(([pauli, c]) => `${c}·${pauli}`).join(' + ');
  }
  return String(observable);
}

/** The x axis of a sweep: the values of its one parameter, or the parameter set's index. */
function sweepAxis(pubInput, size) {
  const values = (pubInput && pubInput.parameter_values) || {};
  const names = Object.keys(values);
  const xs = names.length === 1 ? flat(values[names[0]]) : [];
  if (xs.length === size && xs.every((x) => typeof x === 'number')) return [xs, names[0]];
  return [Array.from({length: size}, (_, i) => i), 'parameter set'];
}

/** A register's counts (one object per parameter set): a histogram unless swept. */
function registerView(name, register, pubInput, label) {
  if (register.shape.length === 0) {
    return histogram(register.counts[0], `${label}, register ${name}`);
  }
  const [xs, xLabel] = sweepAxis(pubInput, register.counts.length);
  return sweepPlot(register.counts, xs, xLabel, `${label}, register ${name}`);
}

function expectationView(data, pubInput, label) {
  const observables = flat(pubInput ? pubInput.observables : []);
  const items = data.evs.map((ev, i) => ({
    ev, std: data.stds[i],
    label: observables.length === data.evs.length ? observableLabel(observables[i]) : `value ${i}`,
  }));
  return expectationChart(items, label);
}

/** The view of one PUB's result; `pubInput` (from /inputs) names the axes when known. */
export function pubView(pubResult, pubInput, index) {
  const label = `PUB ${index}`;
  const data = (pubResult && pubResult.data) || {};
  const parts = [];
  if (Array.isArray(data.evs)) parts.push(expectationView(data, pubInput, label));
  for (const [name, value] of Object.entries(data)) {
    if (value && typeof value === 'object' && 'counts' in value) {
      parts.push(registerView(name, value, pubInput, label));
    }
  }
  if (!parts.length) parts.push(h('pre', {}, JSON.stringify(data, null, 2)));
  return h('section', {class: 'pub', 'aria-label': label}, h('h4', {}, label), parts);
}
