// A short session with the gateway, in TypeScript, through a client generated from openapi.yaml
// (openapi-typescript + openapi-fetch) and a real SSE client (eventsource): submit a job, follow
// its events, read its result with every shot, list jobs, cancel one. Run by tests/test_clients.py
// against a live gateway: GATEWAY_URL and GATEWAY_KEY in the environment; prints a JSON summary.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { EventSource } from "eventsource";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/gateway.js";

type Schemas = components["schemas"];
const BELL = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;';
const baseUrl = process.env.GATEWAY_URL ?? "http://localhost:8000";
const key = process.env.GATEWAY_KEY ?? "";
const gateway = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });

/** Every event of a job until its final status, through a real EventSource (with the key). */
function follow(jobId: string): Promise<{ statuses: string[]; kinds: string[] }> {
  const statuses: string[] = [];
  const kinds: string[] = [];
  const source = new EventSource(`${baseUrl}/v1/jobs/${jobId}/events`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${key}` } }),
  });
  return new Promise((resolve, reject) => {
    for (const kind of ["log", "interim", "result"]) {
      source.addEventListener(kind, () => kinds.push(kind));
    }
    source.addEventListener("status", (event) => {
      const data: Schemas["StatusEventData"] = JSON.parse(event.data);
      statuses.push(data.status);
      kinds.push("status");
      if (["DONE", "ERROR", "CANCELLED"].includes(data.status)) {
        source.close();
        resolve({ statuses, kinds });
      }
    });
    source.onerror = (error) => {
      source.close();
      reject(new Error(`event stream failed: ${error.message ?? "closed"}`));
    };
  });
}

async function main(): Promise<void> {
  // submit: a typed body (options: {seed} alone is fine) and a typed Idempotency-Key header
  const body: Schemas["JobSubmit"] = {
    program_id: "sampler", backend: "aer_simulator", options: { seed: 7 },
    pubs: [{ circuit: BELL, shots: 100 }], tags: ["ts-scenario"],
  };
  const idempotencyKey = randomUUID();
  const submitted = await gateway.POST("/v1/jobs", {
    body, params: { header: { "Idempotency-Key": idempotencyKey } },
  });
  assert.equal(submitted.response.status, 202);
  const job: Schemas["Job"] = submitted.data!;
  const again = await gateway.POST("/v1/jobs", {
    body, params: { header: { "Idempotency-Key": idempotencyKey } },
  });
  assert.equal(again.response.status, 200);
  assert.equal(again.data?.id, job.id);

  const { statuses, kinds } = await follow(job.id);
  assert.equal(statuses.at(-1), "DONE");

  // the result, with every shot
  const result = await gateway.GET("/v1/jobs/{job_id}/result", {
    params: { path: { job_id: job.id }, query: { wait: 30, include: ["samples"] } },
  });
  assert.ok(result.data, JSON.stringify(result.error));
  // a sampler's data: its registers by name (an estimator's would be EstimatorPubData)
  const registers = result.data.pub_results[0]?.data as Schemas["SamplerPubData"];
  const register: Schemas["SamplerRegister"] | undefined = registers["c"];
  assert.ok(register);
  assert.deepEqual(register.shape, []);
  const [counts] = register.counts; // one parameter set
  const [samples] = register.samples ?? [];
  assert.ok(counts && samples);
  assert.equal(samples.length, 100);

  // list: the job is there, newest first
  const listed = await gateway.GET("/v1/jobs", { params: { query: { tags: ["ts-scenario"], limit: 5 } } });
  assert.ok(listed.data?.jobs.some((found) => found.id === job.id));

  // cancel a job still queued or running; cancelling a final job is a typed 409 problem
  const slow = await gateway.POST("/v1/jobs", { body: { ...body, pubs: [{ circuit: slowCircuit(), shots: 10 }] } });
  const cancelled = await gateway.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: slow.data!.id } } });
  assert.equal(cancelled.data?.status, "CANCELLED");
  const refused = await gateway.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: job.id } } });
  assert.equal(refused.response.status, 409);
  const problem: Schemas["Problem"] | undefined = refused.error;
  assert.equal(problem?.job_status, "DONE");

  console.log(JSON.stringify({
    job_id: job.id, statuses, kinds, counts, samples: samples.length,
    listed: listed.data?.jobs.length, cancelled: cancelled.data?.status, refused: problem?.type,
  }));
}

/** A circuit the simulator needs a few seconds for: still running when the cancel comes. */
function slowCircuit(qubits = 20, layers = 30): string {
  const lines = ['OPENQASM 3.0; include "stdgates.inc";', `qubit[${qubits}] q; bit[${qubits}] c;`];
  for (let layer = 0; layer < layers; layer++) {
    for (let i = 0; i < qubits; i++) lines.push(`rx(${(0.1 + 0.01 * i + 0.001 * layer).toFixed(4)}) q[${i}];`);
    for (let i = 0; i < qubits - 1; i++) lines.push(`cx q[${i}], q[${i + 1}];`);
  }
  return [...lines, "c = measure q;"].join("\n");
}

await main();
