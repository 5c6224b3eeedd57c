// Programs to start from, each a complete submission the gateway accepts as it is.
const HEADER = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n';
const SWEEP = Array.from({length: 13}, (_, i) => Number((i * Math.PI / 12).toFixed(4)));

export const EXAMPLES = {
  bell: {
    title: 'Bell pair', program: 'sampler', backend: 'aer_simulator', shots: 1024,
    circuit: `${HEADER}qubit[2] q;\nbit[2] c;\nh q[0];\ncx q[0], q[1];\nc = measure q;\n`,
  },
  ghz: {
    title: 'GHZ state, 5 qubits (noisy device replica)', program: 'sampler',
    backend: 'fake_manila', shots: 2048,
    circuit: `${HEADER}qubit[5] q;\nbit[5] c;\nh q[0];\n`
      + [0, 1, 2, 3].map((i) => `cx q[${i}], q[${i + 1}];\n`).join('') + 'c = measure q;\n',
  },
  sweep: {
    title: 'Parameter sweep: ry(theta) from 0 to π', program: 'sampler', backend: 'aer_simulator',
    shots: 1000, parameters: JSON.stringify({theta: SWEEP}),
    circuit: `${HEADER}input float theta;\nqubit[1] q;\nbit[1] c;\nry(theta) q[0];\nc = measure q;\n`,
  },
  estimator: {
    title: 'Estimator: ⟨ZZ⟩, ⟨XX⟩, ⟨YY⟩, ⟨ZI⟩ of a Bell pair', program: 'estimator',
    backend: 'fake_manila', observables: '["ZZ", "XX", "YY", "ZI"]', precision: 0.03,
    circuit: `${HEADER}qubit[2] q;\nh q[0];\ncx q[0], q[1];\n`,
  },
};
