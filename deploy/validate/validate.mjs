// Renders kustomizations with `kubectl kustomize` and validates every object offline against the Kubernetes
// API schemas, exiting non-zero when any object is invalid.
//
//   node validate.mjs DIR...             each DIR must render and validate
//   node validate.mjs --expect-fail DIR  DIR must fail; the messages must contain every line of DIR/EXPECT
//
// Each object is checked twice, because neither check alone is strict enough:
//  1. kubernetes-models' JSON-schema validators (ajv, generated from the Kubernetes OpenAPI document and, for
//     the CRDs cert-manager.io Certificate and monitoring.coreos.com ServiceMonitor, from their CRD schemas):
//     types, formats, patterns, required fields. These schemas allow unknown properties.
//  2. The same packages' TypeScript interfaces through the TypeScript compiler: every object becomes a typed
//     object literal, so excess-property checking rejects an unknown field at any depth, and enum-like string
//     fields (protocol, imagePullPolicy, ...) must hold an allowed value.
// An apiVersion/kind without a schema in these packages is an error, never skipped. Besides the schemas, a
// few rules of this repository's overlays: every namespaced object has a namespace, and every ConfigMap a pod
// mounts exists in the same rendering (a generator reference kustomize missed shows up here), or is written
// into the pod's namespace by a trust-manager Bundle of the rendering. And every pod template in a namespace
// whose Namespace object (in the same rendering) enforces Pod Security baseline or restricted must meet that
// level (pod_security.mjs), since the API server would refuse its pods.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parseAllDocuments } from "yaml";
import { podSecurityErrors } from "./pod_security.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const kubectl = process.env.KUBECTL || "kubectl";

// Packages holding the schemas of API groups outside the core package, by group.
const CRD_PACKAGES = {
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "trust.cert-manager.io": "@kubernetes-models/cert-manager",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer", "CustomResourceDefinition",
  "PersistentVolume", "StorageClass", "PriorityClass", "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration", "Bundle",
]);

// The module that defines apiVersion/kind, e.g. "kubernetes-models/apps/v1/Deployment".
function moduleFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const pkg = CRD_PACKAGES[group] ?? "kubernetes-models";
  const dir = pkg === "kubernetes-models" && group === "" ? version : `${group}/${version}`;
  const spec = `${pkg}/${dir}/${kind}`;
  const file = path.join(here, "node_modules", pkg, dir, `${kind}.js`);
  return existsSync(file) ? spec : null;
}

function render(dir) {
  try {
    return { yaml: execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (e) {
    return { error: `kubectl kustomize ${dir} failed: ${(e.stderr || e.message).trim()}` };
  }
}

function describe(obj, i) {
  const kind = obj?.kind ?? "?";
  const name = obj?.metadata?.name ?? `#${i}`;
  return `${obj?.apiVersion ?? "?"} ${kind}/${name}`;
}

// Schema check 1: kubernetes-models' ajv validators.
async function ajvErrors(obj, spec) {
  const mod = await import(spec);
  const Model = mod[obj.kind];
  if (typeof Model !== "function") return [`${spec} does not export ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

// Schema check 2: the TypeScript compiler over typed literals of every object. Returns errors by object index.
function typeErrors(objects, specs) {
  const scratch = mkdtempSync(path.join(here, ".typecheck-"));
  try {
    const file = path.join(scratch, "objects.ts");
    const lines = [];
    const owner = []; // line number (0-based) -> object index
    objects.forEach((obj, i) => {
      lines.push(`import type { I${obj.kind} as T${i} } from ${JSON.stringify(specs[i])};`);
      owner.push(i);
    });
    objects.forEach((obj, i) => {
      const literal = `export const o${i}: T${i} = ${JSON.stringify(obj, null, 2)};`.split("\n");
      for (const line of literal) {
        lines.push(line);
        owner.push(i);
      }
    });
    writeFileSync(file, lines.join("\n") + "\n");
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: [],
      typeRoots: [],
    });
    const errors = new Map();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n  ");
      let index = -1;
      let where = "";
      if (d.file && d.start !== undefined && path.resolve(d.file.fileName) === path.resolve(file)) {
        const { line } = d.file.getLineAndCharacterOfPosition(d.start);
        index = owner[line] ?? -1;
        where = lines[line].trim();
      }
      const message = where ? `${text} (at: ${where})` : text;
      if (!errors.has(index)) errors.set(index, []);
      errors.get(index).push(message);
    }
    return errors;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// The ConfigMaps trust-manager Bundles of the rendering write: one named after each Bundle with a ConfigMap
// target, in each of the rendering's Namespaces its target.namespaceSelector.matchLabels selects (all
// without one). Keys "ConfigMap/NAMESPACE/NAME".
function bundleConfigMaps(objects) {
  const namespaces = objects.filter((o) => o.kind === "Namespace");
  const out = new Set();
  for (const b of objects) {
    if (b.kind !== "Bundle" || !b.spec?.target?.configMap) continue;
    const want = Object.entries(b.spec.target.namespaceSelector?.matchLabels ?? {});
    for (const ns of namespaces) {
      if (want.every(([k, v]) => ns.metadata?.labels?.[k] === v)) out.add(`ConfigMap/${ns.metadata.name}/${b.metadata?.name}`);
    }
  }
  return out;
}

// Repository rules beyond the schemas.
function ruleErrors(objects) {
  const errors = new Map();
  const add = (i, m) => (errors.has(i) ? errors.get(i).push(m) : errors.set(i, [m]));
  const have = new Set(objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`));
  for (const key of bundleConfigMaps(objects)) have.add(key);
  objects.forEach((obj, i) => {
    if (!CLUSTER_SCOPED.has(obj.kind) && !obj.metadata?.namespace) add(i, "namespaced object without a namespace");
    const pod = obj.spec?.template?.spec;
    for (const volume of pod?.volumes ?? []) {
      // Generated ConfigMaps carry a content hash suffix; a reference without it missed its generator.
      const name = volume.configMap?.name;
      if (name && !have.has(`ConfigMap/${obj.metadata?.namespace ?? ""}/${name}`)) {
        add(i, `volume ${volume.name} mounts ConfigMap ${name}, which this rendering does not contain`);
      }
    }
  });
  for (const [i, messages] of podSecurityErrors(objects)) for (const m of messages) add(i, m);
  return errors;
}

async function validateDir(dir) {
  const rendered = render(dir);
  if (rendered.error) return { count: 0, problems: [rendered.error] };
  const docs = parseAllDocuments(rendered.yaml);
  const problems = [];
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length) problems.push(`YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) objects.push(obj);
  }
  if (objects.length === 0) problems.push("the rendering holds no object");
  const specs = objects.map((o) => moduleFor(o.apiVersion, o.kind));
  const known = [];
  const knownSpecs = [];
  for (let i = 0; i < objects.length; i++) {
    if (!specs[i]) {
      problems.push(`${describe(objects[i], i)}: no schema for this apiVersion/kind`);
      continue;
    }
    for (const e of await ajvErrors(objects[i], specs[i])) problems.push(`${describe(objects[i], i)}: schema: ${e}`);
    known.push(objects[i]);
    knownSpecs.push(specs[i]);
  }
  if (known.length) {
    for (const [i, messages] of typeErrors(known, knownSpecs)) {
      const who = i >= 0 ? describe(known[i], i) : "type check";
      for (const m of messages) problems.push(`${who}: type: ${m}`);
    }
  }
  for (const [i, messages] of ruleErrors(objects)) {
    for (const m of messages) problems.push(`${describe(objects[i], i)}: ${m}`);
  }
  return { count: objects.length, problems };
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error("usage: node validate.mjs [--expect-fail] DIR...");
    process.exit(2);
  }
  let expectFail = false;
  let passed = 0;
  let failed = 0;
  for (const arg of args) {
    if (arg === "--expect-fail") {
      expectFail = true;
      continue;
    }
    const { count, problems } = await validateDir(arg);
    if (!expectFail) {
      if (problems.length === 0) {
        console.log(`ok    ${arg}: ${count} objects valid`);
        passed++;
      } else {
        console.log(`FAIL  ${arg}:\n${problems.map((p) => `        ${p}`).join("\n")}`);
        failed++;
      }
      continue;
    }
    // A negative case: it must be rejected, for the reasons listed in its EXPECT file.
    const expectFile = path.join(arg, "EXPECT");
    const expected = existsSync(expectFile)
      ? readFileSync(expectFile, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
      : [];
    const all = problems.join("\n");
    const missing = expected.filter((e) => !all.includes(e));
    if (problems.length > 0 && missing.length === 0 && expected.length > 0) {
      console.log(`ok    ${arg}: rejected as expected (${problems.length} problems)`);
      passed++;
    } else {
      const wanted = JSON.stringify(missing.length ? missing : expected);
      console.log(`FAIL  ${arg}: expected a rejection mentioning ${wanted};`
        + ` got:\n${problems.map((p) => `        ${p}`).join("\n") || "        (no problem found)"}`);
      failed++;
    }
  }
  console.log(`validate: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

await main();
