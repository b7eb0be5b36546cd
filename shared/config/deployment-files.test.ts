import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { configVariableNames, loadConfig } from "./config.ts";

/**
 * The deployment files (infra/) against the code: every variable they set is one the configuration
 * reads, together they set everything production requires (loadConfig accepts them under
 * NODE_ENV=production), and every service they start is a package.json script. Docker and a cluster
 * are not needed: the files are parsed (the `yaml` dev dependency; kustomize's YAML is plain enough).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const known = new Set(configVariableNames);

// Parsed manifests are walked loosely; a wrong shape fails the expectations below.
// biome-ignore lint/suspicious/noExplicitAny: untyped YAML documents
type Doc = Record<string, any>;
function yamlDocs(file: string): Doc[] {
  return parseAllDocuments(read(file), { merge: true })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join("; ")}`);
      return d.toJS() as Doc;
    })
    .filter((d) => d !== null);
}

/** `name) exec node --import tsx file "$@" ;;` lines of the image's entrypoint. */
function entrypointCommands(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of read("infra/docker-entrypoint.sh").matchAll(/^\s+([\w-]+)\)\s+exec (.+?) "\$@" ;;$/gm)) {
    out.set(m[1] as string, m[2] as string);
  }
  return out;
}
const scriptOf: Record<string, string> = { "all-in-one": "start", migrate: "db:migrate" };

/** KEY=value lines of .env.example (comments skipped). */
function envExample(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read("infra/.env.example").split("\n")) {
    const m = line.match(/^([A-Z0-9_]+)=(.*)$/);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}
/** Variables .env.example holds for compose's own PostgreSQL and MinIO containers, not for Tyndau. */
const composeOnly = new Set(["POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]);

describe("infra/ deployment files", () => {
  const commands = entrypointCommands();

  it("the image entrypoint starts exactly the package.json scripts", () => {
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining(["api", "ingestion", "pipeline", "scheduler", "all-in-one", "migrate"]),
    );
    for (const [name, command] of commands) {
      const script = scripts[scriptOf[name] ?? name];
      // `npm run ingestion` arrives with issue #4; until it is merged only its file is checked.
      if (script === undefined && name === "ingestion") continue;
      expect(script, `package.json script for ${name}`).toBe(command);
      const file = command.split(" ").at(-1) as string;
      expect(fs.existsSync(path.join(root, file)), file).toBe(true);
    }
  });

  it("one Node.js major everywhere: package.json engines, the image and the one ./scripts/* provision", () => {
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    expect(engines).toMatch(/^>=\d+$/);
    const major = engines.slice(2);
    expect(Number(major)).toBeGreaterThanOrEqual(24);
    const images = [...read("infra/Dockerfile").matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    for (const image of images) expect(image).toMatch(new RegExp(`^node:${major}-bookworm-slim$`));
    expect(read("scripts/lib/ensure-system.sh")).toMatch(
      new RegExp(`^TYNDAU_NODE_VERSION=${major}\\.\\d+\\.\\d+$`, "m"),
    );
    // The tests themselves run on it (./scripts/test puts it first in PATH).
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(Number(major));
  });

  it("the Dockerfile is multi-stage on node Debian with ffmpeg and PocketSphinx, runs as non-root", () => {
    const dockerfile = read("infra/Dockerfile");
    const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\w+)/gm)].map((m) => m[1]);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const image of stages) expect(image).toMatch(/^node:\d+-(bookworm|bullseye|trixie)/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*\\\n[^\n]*\bffmpeg pocketsphinx pocketsphinx-en-us\b/);
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)) {
      for (const source of (m[1] as string).split(" ")) {
        expect(fs.existsSync(path.join(root, source)), `COPY ${source}`).toBe(true);
      }
    }
  });

  it("compose: each Tyndau service runs an entrypoint command with a valid production configuration", () => {
    const [compose] = yamlDocs("infra/compose.yaml") as [Doc];
    const example = envExample();
    const interpolate = (value: unknown) =>
      String(value).replace(/\$\{(\w+)[^}]*\}/g, (_, name: string) => example[name] ?? "");
    const appServices = Object.entries(compose.services as Record<string, Doc>).filter(
      ([, s]) => s.image === "tyndau:local",
    );
    expect(appServices.map(([name]) => name).sort()).toEqual(
      ["api", "ingestion", "migrate", "pipeline", "scheduler"].sort(),
    );
    for (const [name, service] of appServices) {
      expect(commands.has(service.command[0]), `${name}: ${service.command}`).toBe(true);
      expect(service.env_file).toBe(".env");
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(example)) if (!composeOnly.has(key)) env[key] = value;
      for (const [key, value] of Object.entries(service.environment as Record<string, unknown>))
        env[key] = interpolate(value);
      for (const key of Object.keys(env)) expect(known.has(key), `${name} sets ${key}`).toBe(true);
      const config = loadConfig(env);
      expect(config.env).toBe("production");
      expect(config.database.kind).toBe("postgres");
      expect(config.storage.kind).toBe("s3");
      expect(config.migrateOnStart).toBe(false);
      if (name !== "migrate")
        expect(service.depends_on.migrate.condition).toBe("service_completed_successfully");
    }
  });

  it("kubernetes: every workload gets its config from the ConfigMap and Secret, with probes and resources", () => {
    const kustomization = yamlDocs("infra/k8s/kustomization.yaml")[0] as Doc;
    const docs = (kustomization.resources as string[]).flatMap((file) => yamlDocs(`infra/k8s/${file}`));
    const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
    const configMap = byKind("ConfigMap").find((d) => d.metadata.name === "tyndau-config") as Doc;
    const secret = yamlDocs("infra/k8s/secret.example.yaml")[0] as Doc;
    expect(secret.metadata.name).toBe("tyndau-secrets");
    // Secrets are never applied from the repository.
    expect(byKind("Secret")).toEqual([]);
    for (const key of [...Object.keys(configMap.data), ...Object.keys(secret.stringData)]) {
      expect(known.has(key), `k8s sets ${key}`).toBe(true);
    }
    for (const key of ["DATABASE_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "APP_SECRET"]) {
      expect(Object.keys(configMap.data), `${key} belongs in the Secret`).not.toContain(key);
    }

    const workloads = [...byKind("Deployment"), ...byKind("Job")];
    expect(
      byKind("Deployment")
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(["tyndau-api", "tyndau-ingestion", "tyndau-pipeline", "tyndau-scheduler"]);
    for (const workload of workloads) {
      const name = workload.metadata.name as string;
      const pod = workload.spec.template.spec as Doc;
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      const [container] = pod.containers as Doc[];
      expect(commands.has(container?.args[0]), `${name}: ${container?.args}`).toBe(true);
      expect(container?.envFrom).toEqual([
        { configMapRef: { name: "tyndau-config" } },
        { secretRef: { name: "tyndau-secrets" } },
      ]);
      const env: Record<string, string> = { ...configMap.data, ...secret.stringData };
      for (const e of (container?.env ?? []) as { name: string; value: string }[]) {
        expect(known.has(e.name), `${name} sets ${e.name}`).toBe(true);
        env[e.name] = e.value;
      }
      expect(loadConfig(env).env).toBe("production");
      expect(container?.resources.requests).toBeDefined();
      expect(container?.resources.limits).toBeDefined();
      if (workload.kind !== "Deployment") continue;
      expect(workload.spec.selector.matchLabels).toEqual(workload.spec.template.metadata.labels);
      const ports = new Set(((container?.ports ?? []) as { name: string }[]).map((p) => p.name));
      for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        expect(ports.has(container?.[probe]?.httpGet?.port), `${name} ${probe}`).toBe(true);
      }
      expect(container?.livenessProbe.httpGet.path).toBe("/healthz");
      if (name !== "tyndau-ingestion") expect(container?.readinessProbe.httpGet.path).toBe("/readyz");
      // The pod must outlive the process's own grace (SHUTDOWN_GRACE_SEC) before Kubernetes kills it.
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(configMap.data.SHUTDOWN_GRACE_SEC));
      const selected = (d: Doc) =>
        d.spec.selector?.matchLabels?.["app.kubernetes.io/name"] ??
        d.spec.selector?.["app.kubernetes.io/name"];
      expect(
        byKind("PodDisruptionBudget").some((d) => selected(d) === name),
        `${name} PDB`,
      ).toBe(true);
      if (name === "tyndau-api" || name === "tyndau-ingestion")
        expect(
          byKind("Service").some((d) => selected(d) === name),
          `${name} Service`,
        ).toBe(true);
    }
    const [hpa] = byKind("HorizontalPodAutoscaler");
    expect(hpa?.spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "tyndau-pipeline",
    });
  });
});
