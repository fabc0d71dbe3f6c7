// Validates prometheus-operator objects (ServiceMonitor, PrometheusRule, ...)
// with the validators that the npm package @kubernetes-models/prometheus-operator
// generates from the upstream CRD OpenAPI schemas (types, required fields, enums).
//
//   node validate-crds.mjs <node_modules dir> < objects.json
// stdin: a JSON array of {"source": "...", "object": {...}}.
// Exit 0 when all are valid, 1 otherwise; prints one line per object.
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { readFileSync } from "node:fs";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node validate-crds.mjs <node_modules dir> < objects.json");
  process.exit(2);
}
const pkg = join(modules, "@kubernetes-models", "prometheus-operator");
const version = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version;
const items = JSON.parse(readFileSync(0, "utf8"));

let failed = 0;
for (const { source, object } of items) {
  const [group, apiVersion] = String(object.apiVersion).split("/");
  const kind = object.kind;
  const label = `${source}: ${kind}/${object.metadata?.name}`;
  let mod;
  try {
    mod = await import(pathToFileURL(join(pkg, group, apiVersion, `${kind}.js`)).href);
  } catch (e) {
    console.log(`FAIL ${label}: no model for ${object.apiVersion} ${kind} in @kubernetes-models/prometheus-operator@${version}`);
    failed++;
    continue;
  }
  try {
    new mod[kind](object).validate();
    console.log(`ok   ${label} (CRD schema, @kubernetes-models/prometheus-operator@${version})`);
  } catch (e) {
    failed++;
    const details = (e.errors || [])
      .map((x) => `${x.instancePath || "/"} ${x.message || x.keyword}${x.params ? " " + JSON.stringify(x.params) : ""}`)
      .join("; ");
    console.log(`FAIL ${label}: ${details || e.message}`);
  }
}
process.exit(failed ? 1 : 0);
