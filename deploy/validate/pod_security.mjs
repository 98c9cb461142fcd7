// The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards), levels baseline
// and restricted, checked offline on every pod template, as the PodSecurity admission controller checks the
// pods a namespace labelled `pod-security.kubernetes.io/enforce: baseline|restricted` may run.
//
// Written here because npm has no maintained implementation: the reference is the Go package
// k8s.io/pod-security-admission (policy/check_*.go), and the npm registry holds no port of it nor another
// package that checks these controls. The rules follow that package's "latest" policy version as of
// Kubernetes 1.32 (the kubectl this directory renders with):
//   baseline    HostProcess, Host Namespaces, Privileged Containers, Capabilities (the default set), HostPath
//               Volumes, Host Ports, AppArmor, SELinux, /proc Mount Type, Seccomp (no Unconfined), Sysctls
//   restricted  all of baseline, plus Volume Types, Privilege Escalation, Running as Non-root, Running as
//               Non-root user, Seccomp (RuntimeDefault or Localhost required), Capabilities (drop ALL, add
//               at most NET_BIND_SERVICE)
// Windows pods (spec.os.name: windows) are exempt, as the standard says for v1.25+, from restricted's
// Privilege Escalation, Seccomp and Capabilities controls (the API refuses those Linux-only fields on them);
// every other control, hostPath and HostProcess included, applies to them too.
// Not modelled, since nothing here uses them and each errs on the strict side when absent: the relaxation of
// runAsNonRoot/runAsUser for pods in a user namespace (hostUsers: false), the enforce-version label (always
// "latest"), and cluster-wide PodSecurity exemptions.

export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

const ALLOWED_CAPABILITIES_BASELINE = new Set([
  "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
  "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
// The only volume sources restricted allows.
const RESTRICTED_VOLUME_TYPES = new Set([
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
]);

// The pod templates an object holds: [{where, metadata, spec}] (empty for kinds without pods).
export function podTemplates(obj) {
  const s = obj?.spec;
  switch (obj?.kind) {
    case "Pod":
      return [{ where: "spec", metadata: obj.metadata ?? {}, spec: s ?? {} }];
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "ReplicationController":
    case "Job":
      return s?.template ? [{ where: "spec.template", metadata: s.template.metadata ?? {}, spec: s.template.spec ?? {} }] : [];
    case "CronJob": {
      const t = s?.jobTemplate?.spec?.template;
      return t ? [{ where: "spec.jobTemplate.spec.template", metadata: t.metadata ?? {}, spec: t.spec ?? {} }] : [];
    }
    default:
      return [];
  }
}

function containersOf(spec) {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ c, label: `initContainer "${c.name}"` })),
    ...(spec.containers ?? []).map((c) => ({ c, label: `container "${c.name}"` })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({ c, label: `ephemeralContainer "${c.name}"` })),
  ];
}

const list = (items) => items.join(", ");
// "volume "a" uses" / "volumes "a", "b" use".
const volumes = (names, verb) => `${names.length > 1 ? "volumes" : "volume"} ${list(names)} ${names.length > 1 ? verb : `${verb}s`}`;

// Violations of `level` ("baseline" or "restricted") by one pod template, each "Control: detail".
export function podSecurityViolations(level, metadata, spec) {
  if (level !== "baseline" && level !== "restricted") return [];
  const out = [];
  const add = (control, detail) => out.push(`${control}: ${detail}`);
  const psc = spec.securityContext ?? {};
  const containers = containersOf(spec);
  const windows = spec.os?.name === "windows";

  // --- baseline -------------------------------------------------------------------------------------------
  {
    const bad = [];
    if (psc.windowsOptions?.hostProcess === true) bad.push("pod");
    for (const { c, label } of containers) if (c.securityContext?.windowsOptions?.hostProcess === true) bad.push(label);
    if (bad.length) add("HostProcess", `${list(bad)} must not set securityContext.windowsOptions.hostProcess=true`);
  }
  {
    const bad = ["hostNetwork", "hostPID", "hostIPC"].filter((f) => spec[f] === true);
    if (bad.length) add("Host Namespaces", `${list(bad.map((f) => `${f}=true`))} is not allowed`);
  }
  {
    const bad = containers.filter(({ c }) => c.securityContext?.privileged === true).map(({ label }) => label);
    if (bad.length) add("Privileged Containers", `${list(bad)} must not set securityContext.privileged=true`);
  }
  {
    const bad = [];
    for (const { c, label } of containers) {
      const extra = (c.securityContext?.capabilities?.add ?? []).filter((x) => !ALLOWED_CAPABILITIES_BASELINE.has(x));
      if (extra.length) bad.push(`${label} adds ${list(extra)}`);
    }
    if (bad.length) add("Capabilities", `${list(bad)}, beyond the default set`);
  }
  {
    const bad = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => `"${v.name}"`);
    if (bad.length) add("HostPath Volumes", `${volumes(bad, "use")} hostPath`);
  }
  {
    const bad = [];
    for (const { c, label } of containers) {
      for (const p of c.ports ?? []) if (p.hostPort) bad.push(`${label} hostPort ${p.hostPort}`);
    }
    if (bad.length) add("Host Ports", `${list(bad)} is not allowed`);
  }
  {
    const bad = [];
    for (const [k, v] of Object.entries(metadata.annotations ?? {})) {
      if (k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v !== "runtime/default" &&
          !String(v).startsWith("localhost/")) {
        bad.push(`annotation ${k}=${v}`);
      }
    }
    const okType = (p) => !p || p.type === "RuntimeDefault" || p.type === "Localhost";
    if (!okType(psc.appArmorProfile)) bad.push(`pod appArmorProfile.type=${psc.appArmorProfile.type}`);
    for (const { c, label } of containers) {
      const p = c.securityContext?.appArmorProfile;
      if (!okType(p)) bad.push(`${label} appArmorProfile.type=${p.type}`);
    }
    if (bad.length) add("AppArmor", `${list(bad)} (RuntimeDefault or Localhost only)`);
  }
  {
    const bad = [];
    const check = (o, who) => {
      if (!o) return;
      if (!SELINUX_TYPES.has(o.type ?? "")) bad.push(`${who} seLinuxOptions.type=${o.type}`);
      if (o.user) bad.push(`${who} seLinuxOptions.user`);
      if (o.role) bad.push(`${who} seLinuxOptions.role`);
    };
    check(psc.seLinuxOptions, "pod");
    for (const { c, label } of containers) check(c.securityContext?.seLinuxOptions, label);
    if (bad.length) add("SELinux", `${list(bad)} is not allowed`);
  }
  {
    const bad = containers
      .filter(({ c }) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== "Default")
      .map(({ c, label }) => `${label} procMount=${c.securityContext.procMount}`);
    if (bad.length) add("/proc Mount Type", `${list(bad)} is not allowed`);
  }
  {
    const bad = [];
    if (psc.seccompProfile?.type === "Unconfined") bad.push("pod");
    for (const { c, label } of containers) if (c.securityContext?.seccompProfile?.type === "Unconfined") bad.push(label);
    if (bad.length) add("Seccomp", `${list(bad)} must not set securityContext.seccompProfile.type=Unconfined`);
  }
  {
    const bad = (psc.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
    if (bad.length) add("Sysctls", `${list(bad)} is not in the safe set`);
  }
  if (level === "baseline") return out;

  // --- restricted -----------------------------------------------------------------------------------------
  {
    const bad = [];
    for (const v of spec.volumes ?? []) {
      const types = Object.keys(v).filter((k) => k !== "name");
      if (!types.every((t) => RESTRICTED_VOLUME_TYPES.has(t))) bad.push(`"${v.name}" (${list(types)})`);
    }
    if (bad.length) {
      add("Volume Types", `${volumes(bad, "use")} a type outside ${list([...RESTRICTED_VOLUME_TYPES])}`);
    }
  }
  if (!windows) {
    const bad = containers
      .filter(({ c }) => c.securityContext?.allowPrivilegeEscalation !== false)
      .map(({ label }) => label);
    if (bad.length) add("Privilege Escalation", `${list(bad)} must set securityContext.allowPrivilegeEscalation=false`);
  }
  {
    const explicitFalse = [];
    const unset = [];
    if (psc.runAsNonRoot === false) explicitFalse.push("pod");
    for (const { c, label } of containers) {
      const v = c.securityContext?.runAsNonRoot;
      if (v === false) explicitFalse.push(label);
      else if (v === undefined && psc.runAsNonRoot !== true) unset.push(label);
    }
    if (explicitFalse.length) {
      add("Running as Non-root", `${list(explicitFalse)} must not set securityContext.runAsNonRoot=false`);
    } else if (unset.length) {
      add("Running as Non-root", `pod or ${list(unset)} must set securityContext.runAsNonRoot=true`);
    }
  }
  {
    const bad = [];
    if (psc.runAsUser === 0) bad.push("pod");
    for (const { c, label } of containers) if (c.securityContext?.runAsUser === 0) bad.push(label);
    if (bad.length) add("Running as Non-root user", `${list(bad)} must not set runAsUser=0`);
  }
  if (!windows) {
    const good = (p) => p?.type === "RuntimeDefault" || p?.type === "Localhost";
    const podGood = good(psc.seccompProfile);
    const bad = containers
      .filter(({ c }) => {
        const p = c.securityContext?.seccompProfile;
        return p ? !good(p) : !podGood;
      })
      .map(({ label }) => label);
    if (bad.length) {
      add("Seccomp", `pod or ${list(bad)} must set securityContext.seccompProfile.type to RuntimeDefault or Localhost`);
    }
  }
  if (!windows) {
    const noDrop = [];
    const extra = [];
    for (const { c, label } of containers) {
      const caps = c.securityContext?.capabilities ?? {};
      if (!(caps.drop ?? []).includes("ALL")) noDrop.push(label);
      const added = (caps.add ?? []).filter((x) => x !== "NET_BIND_SERVICE");
      if (added.length) extra.push(`${label} adds ${list(added)}`);
    }
    if (noDrop.length) add("Capabilities", `${list(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (extra.length) add("Capabilities", `${list(extra)} (only NET_BIND_SERVICE may be added)`);
  }
  return out;
}

// Violations of every pod template in a rendering whose namespace (a Namespace object of the same rendering)
// enforces baseline or restricted: Map object index -> messages naming the level, namespace and control.
export function podSecurityErrors(objects) {
  const levels = new Map();
  for (const o of objects) {
    if (o?.kind === "Namespace" && o.metadata?.name) levels.set(o.metadata.name, o.metadata.labels?.[ENFORCE_LABEL]);
  }
  const errors = new Map();
  objects.forEach((obj, i) => {
    const ns = obj?.metadata?.namespace;
    const level = ns ? levels.get(ns) : undefined;
    if (level !== "baseline" && level !== "restricted") return;
    for (const { where, metadata, spec } of podTemplates(obj)) {
      for (const v of podSecurityViolations(level, metadata, spec)) {
        const m = `Pod Security "${level}" (namespace ${ns}) refuses ${where}: ${v}`;
        errors.has(i) ? errors.get(i).push(m) : errors.set(i, [m]);
      }
    }
  });
  return errors;
}
