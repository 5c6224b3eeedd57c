// Results drawn as SVG: a histogram of counts (each bar named "BITSTRING: COUNT" for screen
// readers and tests), probabilities against a swept parameter, expectation values with error bars.
import {h, svg} from './dom.js';

const MAX_BARS = 64;
const MAX_SERIES = 4;
const fmt = (value, digits = 3) => Number(value).toFixed(digits);
// the API sends null for a number that is not finite (JSON has no NaN or infinity)
const finite = (value, digits = 3) => (value === null ? 'not finite' : fmt(value, digits));

function axes(width, height, pad) {
  return [
    svg('line', {class: 'axis', x1: pad.left, y1: height - pad.bottom, x2: width - pad.right,
      y2: height - pad.bottom}),
    svg('line', {class: 'axis', x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom}),
  ];
}

function dataTable(caption, head, rows) {
  return h('details', {},
    h('summary', {}, `${caption} as a table`),
    h('table', {class: 'data'},
      h('caption', {class: 'sr-only'}, caption),
      h('thead', {}, h('tr', {}, head.map((cell) => h('th', {scope: 'col'}, cell)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell)))))));
}

/** Bars for `counts` ({bitstring: count}), sorted by bitstring; the largest MAX_BARS if more. */
export function histogram(counts, title) {
  let entries = Object.entries(counts);
  const hidden = Math.max(0, entries.length - MAX_BARS);
  if (hidden) entries = entries.sort((a, b) => b[1] - a[1]).slice(0, MAX_BARS);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const width = 640, height = 260;
  const pad = {top: 16, right: 12, bottom: 56, left: 52};
  const top = Math.max(1, ...entries.map(([, count]) => count));
  const slot = (width - pad.left - pad.right) / Math.max(1, entries.length);
  const scale = (height - pad.top - pad.bottom) / top;
  const vertical = slot < 28;
  const bars = entries.map(([bits, count], index) => {
    const x = pad.left + index * slot;
    const barHeight = count * scale;
    const labelX = x + slot / 2;
    const labelY = height - pad.bottom + 14;
    return svg('g', {role: 'img', 'aria-label': `${bits}: ${count}`, class: 'bar-group'},
      svg('title', {}, `${bits}: ${count}`),
      svg('rect', {class: 'bar', x: x + slot * 0.12, width: slot * 0.76,
        y: height - pad.bottom - barHeight, height: Math.max(barHeight, count ? 1 : 0)}),
      entries.length <= 16 ? svg('text', {class: 'count', x: labelX, y: height - pad.bottom
        - barHeight - 4, 'text-anchor': 'middle', 'aria-hidden': 'true'}, String(count)) : null,
      svg('text', {x: labelX, y: labelY, 'text-anchor': vertical ? 'end' : 'middle',
        transform: vertical ? `rotate(-60 ${labelX} ${labelY})` : null,
        'aria-hidden': 'true'}, bits));
  });
  const ticks = [0, top / 2, top].map((value) => {
    const y = height - pad.bottom - value * scale;
    return svg('g', {'aria-hidden': 'true'},
      svg('line', {class: 'grid', x1: pad.left, x2: width - pad.right, y1: y, y2: y}),
      svg('text', {x: pad.left - 6, y: y + 4, 'text-anchor': 'end'}, String(Math.round(value))));
  });
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return h('figure', {class: 'chart'},
    svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': title},
      ticks, bars, axes(width, height, pad)),
    h('figcaption', {}, `${title}: ${entries.length} outcomes, ${total} shots`,
      hidden ? ` (the ${hidden} rarest outcomes are not drawn)` : ''),
    dataTable(title, ['outcome', 'count'], entries));
}

/** Probability of the most frequent outcomes against the swept parameter (one point per set). */
export function sweepPlot(countsList, xs, xLabel, title) {
  const totals = {};
  for (const counts of countsList) {
    for (const [bits, count] of Object.entries(counts)) totals[bits] = (totals[bits] || 0) + count;
  }
  const outcomes = Object.keys(totals).sort((a, b) => totals[b] - totals[a])
    .slice(0, MAX_SERIES).sort();
  const probability = (counts, bits) => {
    const shots = Object.values(counts).reduce((sum, count) => sum + count, 0) || 1;
    return (counts[bits] || 0) / shots;
  };
  const width = 640, height = 280;
  const pad = {top: 16, right: 16, bottom: 44, left: 52};
  const [low, high] = [Math.min(...xs), Math.max(...xs)];
  const sx = (x) => pad.left + (high === low ? 0.5 : (x - low) / (high - low))
    * (width - pad.left - pad.right);
  const sy = (p) => height - pad.bottom - p * (height - pad.top - pad.bottom);
  const series = outcomes.map((bits, index) => {
    const points = countsList.map((counts, i) => [sx(xs[i]), sy(probability(counts, bits))]);
    return svg('g', {class: `series-${index}`, role: 'img',
      'aria-label': `P(${bits}) from ${fmt(probability(countsList[0], bits), 2)} to `
        + `${fmt(probability(countsList.at(-1), bits), 2)}`},
    svg('polyline', {points: points.map((p) => p.join(',')).join(' ')}),
    points.map(([x, y], i) => svg('circle', {cx: x, cy: y, r: 3},
      svg('title', {}, `${xLabel} = ${fmt(xs[i])}: P(${bits}) = ${fmt(probability(countsList[i], bits))}`))));
  });
  const grid = [0, 0.5, 1].map((p) => svg('g', {'aria-hidden': 'true'},
    svg('line', {class: 'grid', x1: pad.left, x2: width - pad.right, y1: sy(p), y2: sy(p)}),
    svg('text', {x: pad.left - 6, y: sy(p) + 4, 'text-anchor': 'end'}, String(p))));
  const xTicks = [low, high].map((x) => svg('text', {x: sx(x), y: height - pad.bottom + 16,
    'text-anchor': 'middle', 'aria-hidden': 'true'}, fmt(x, 2)));
  return h('figure', {class: 'chart'},
    svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': title},
      grid, xTicks, series, axes(width, height, pad),
      svg('text', {x: width / 2, y: height - 6, 'text-anchor': 'middle', 'aria-hidden': 'true'},
        xLabel)),
    h('div', {class: 'legend'}, outcomes.map((bits, index) => h('span', {},
      h('span', {class: `swatch series-${index}`, 'aria-hidden': 'true'}), `P(${bits})`))),
    h('figcaption', {}, `${title}: probability of the ${outcomes.length} most frequent outcomes `
      + `over ${countsList.length} parameter sets`),
    dataTable(title, [xLabel, ...outcomes.map((bits) => `P(${bits})`)], countsList.map(
      (counts, i) => [fmt(xs[i]), ...outcomes.map((bits) => fmt(probability(counts, bits)))])));
}

/** Expectation values with ±1 standard deviation as error bars, one row per observable. A
 * null (a value that is not finite, say a deviation an extrapolation left unbounded) is drawn
 * as no point, or no bar, and said as such. */
export function expectationChart(items, title) {
  const width = 640, row = 30;
  const pad = {top: 12, right: 20, bottom: 30, left: 150};
  const height = pad.top + pad.bottom + row * items.length;
  const drawn = items.filter(({ev}) => ev !== null);
  const reach = Math.max(1, ...drawn.map(({ev, std}) => Math.abs(ev) + (std || 0)));
  const sx = (v) => pad.left + ((v + reach) / (2 * reach)) * (width - pad.left - pad.right);
  const marks = items.map(({label, ev, std}, i) => {
    const y = pad.top + row * i + row / 2;
    const said = `${label}: ${finite(ev)} ± ${finite(std)}`;
    const name = svg('text', {x: pad.left - 8, y: y + 4, 'text-anchor': 'end', 'aria-hidden': 'true'},
      label);
    if (ev === null) return svg('g', {role: 'img', 'aria-label': said}, svg('title', {}, said), name);
    const bars = std === null ? [] : [
      svg('line', {class: 'errorbar', x1: sx(ev - std), x2: sx(ev + std), y1: y, y2: y}),
      svg('line', {class: 'errorbar', x1: sx(ev - std), x2: sx(ev - std), y1: y - 6, y2: y + 6}),
      svg('line', {class: 'errorbar', x1: sx(ev + std), x2: sx(ev + std), y1: y - 6, y2: y + 6})];
    return svg('g', {role: 'img', 'aria-label': said}, svg('title', {}, said), name, bars,
      svg('circle', {class: 'point', cx: sx(ev), cy: y, r: 5}));
  });
  const base = height - pad.bottom;
  const ticks = [-reach, 0, reach].map((v) => svg('g', {'aria-hidden': 'true'},
    svg('line', {class: 'grid', x1: sx(v), x2: sx(v), y1: pad.top, y2: base}),
    svg('text', {x: sx(v), y: base + 16, 'text-anchor': 'middle'}, fmt(v, 2))));
  return h('figure', {class: 'chart'},
    svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': title},
      ticks, marks, svg('line', {class: 'axis', x1: pad.left, x2: width - pad.right, y1: base,
        y2: base})),
    h('figcaption', {}, `${title}: expectation values, error bars ±1 standard deviation`),
    dataTable(title, ['observable', 'value', 'std'], items.map(
      ({label, ev, std}) => [label, finite(ev, 4), finite(std, 4)])));
}
