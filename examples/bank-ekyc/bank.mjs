// The sample bank's entry point (`./run` calls it): reads the options, makes the bank's signing
// key on first run, registers the bank with eid if it is not yet, and serves the bank.
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

import { ensureBankKey } from "./keys.mjs";
import { startBank } from "./server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);
const REPO = resolve(HERE, "..", "..");

// What the bank asks eid for: the pairwise subject, the verified identity (name, date of birth,
// nationality), the residence card, and the verified phone number and email.
export const SCOPES = "openid ekyc_basic residence phone email";
const PURPOSE = "open a bank account (eKYC)";

const HELP = `Usage: ./run --eid URL [options]

  --eid URL            eid's issuer, e.g. http://127.0.0.1:8000 (or EID_ISSUER)
  --port N             the bank's port (default 3000; 0 picks a free one)
  --bind ADDRESS       the address to listen on (default 127.0.0.1)
  --public-url URL     the bank's address in the browser (default http://localhost:PORT)
  --profile P          fapi2 (PAR, private_key_jwt, DPoP; the default) or basic
                       (client_secret_basic + PKCE, for an eid without FAPI 2.0)
  --state-dir DIR      where the bank keeps its key and registration (default .bank/)
  --client-id ID       a client already registered (basic: its secret in BANK_CLIENT_SECRET)
  --register           register again even when the state dir has a registration
  --eid-cli CMD        the eid command (default: EID_CLI, eid on PATH, or the repo's .venv)
`;

function options() {
  const { values } = parseArgs({
    options: {
      eid: { type: "string", default: process.env.EID_ISSUER },
      port: { type: "string", default: process.env.PORT ?? "3000" },
      bind: { type: "string", default: "127.0.0.1" },
      "public-url": { type: "string" },
      profile: { type: "string", default: "fapi2" },
      "state-dir": { type: "string", default: join(HERE, ".bank") },
      "client-id": { type: "string" },
      register: { type: "boolean", default: false },
      "eid-cli": { type: "string", default: process.env.EID_CLI },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (!values.eid) fail("--eid URL is required: the issuer of a running eid\n\n" + HELP);
  if (!["fapi2", "basic"].includes(values.profile)) fail("--profile is fapi2 or basic");
  const issuer = new URL(values.eid);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(issuer.hostname);
  if (issuer.protocol !== "https:" && !loopback) fail("eid must be https (http only on loopback)");
  return { ...values, issuer, insecure: issuer.protocol === "http:" };
}

function fail(message) {
  process.stderr.write(`bank-ekyc: ${message}\n`);
  process.exit(2);
}

async function discover(issuer) {
  const url = new URL(".well-known/openid-configuration", issuer.href.replace(/\/?$/, "/"));
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch (error) {
    fail(`no eid answers at ${url} (${error.message}): start it first (eid serve)`);
  }
}

// ------------------------------------------------------------------------- registration

function eidCommand(given) {
  if (given) return given.split(" ").filter(Boolean);
  const onPath = spawnSync("sh", ["-c", "command -v eid"], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return [onPath.stdout.trim()];
  const inRepo = join(REPO, ".venv", "bin", "eid");
  return existsSync(inRepo) ? [inRepo] : null;
}

function registrationArgs(opts, bankUrl, jwksFile) {
  const args = [
    "client", "create",
    "--name", "Example Bank (bank-ekyc sample)",
    "--purpose", PURPOSE,
    "--scopes", SCOPES,
    "--redirect-uri", `${bankUrl}/callback`,
    "--post-logout-redirect-uri", `${bankUrl}/signed-out`,
  ];
  if (opts.profile === "fapi2") args.push("--profile", "fapi2", "--jwks", jwksFile);
  return args;
}

function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

async function register(opts, bankUrl, jwksFile) {
  const args = registrationArgs(opts, bankUrl, jwksFile);
  const command = eidCommand(opts["eid-cli"]);
  const howTo = (why) =>
    fail(
      `${why}\n\nRegister the bank on the eid host (same database and settings as the running eid):\n\n` +
        `  eid ${args.map(shellQuote).join(" ")}\n\n` +
        "then start the bank with the client_id it prints:\n\n  " +
        (opts.profile === "basic" ? "BANK_CLIENT_SECRET=<client_secret> " : "") +
        `./run --eid ${shellQuote(opts.issuer.href)} --profile ${opts.profile} ` +
        `--port ${new URL(bankUrl).port || opts.port} --public-url ${shellQuote(bankUrl)} --client-id <client_id>`,
    );
  if (!command) howTo("no eid command found (EID_CLI, eid on PATH, or the repo's .venv/bin/eid)");
  // Asynchronously: a blocked event loop would keep the discovery request's idle keep-alive
  // socket past eid's keep-alive timeout, and the next request on it would meet a closed socket.
  let done;
  try {
    done = await execFileAsync(command[0], [...command.slice(1), ...args], {
      encoding: "utf8",
      env: process.env,
      timeout: 120_000,
    });
  } catch (error) {
    howTo(`\`eid client create\` failed (${error.code}): ${(error.stderr || error.stdout || error.message).trim().slice(-1500)}`);
  }
  const answer = JSON.parse(done.stdout.slice(done.stdout.indexOf("{")));
  return { client_id: answer.client_id, client_secret: answer.client_secret ?? null };
}

async function registration(opts, bankUrl, jwksFile) {
  if (opts["client-id"]) {
    return { client_id: opts["client-id"], client_secret: process.env.BANK_CLIENT_SECRET ?? null };
  }
  // One registration per eid, profile and bank address (the redirect URIs depend on it).
  const key = createHash("sha256")
    .update(`${opts.issuer.href}|${opts.profile}|${bankUrl}`)
    .digest("hex")
    .slice(0, 16);
  const file = join(opts["state-dir"], `registration-${key}.json`);
  if (!opts.register && existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const made = await register(opts, bankUrl, jwksFile);
  // The client secret (basic profile only) is a credential: the file is the owner's alone.
  writeFileSync(file, JSON.stringify({ issuer: opts.issuer.href, profile: opts.profile, ...made }, null, 2), {
    mode: 0o600,
  });
  process.stderr.write(`bank-ekyc: registered with eid as ${made.client_id}\n`);
  return made;
}

// ------------------------------------------------------------------------- start

const opts = options();
mkdirSync(opts["state-dir"], { recursive: true, mode: 0o700 });
const metadata = await discover(opts.issuer);
if (opts.profile === "fapi2" && !metadata.pushed_authorization_request_endpoint) {
  fail(
    `${opts.issuer.href} does not offer FAPI 2.0 yet (no pushed_authorization_request_endpoint in ` +
      "its discovery): run with --profile basic",
  );
}
// The bank's own signing key: only FAPI 2.0 clients authenticate with one.
const key = opts.profile === "fapi2" ? await ensureBankKey(opts["state-dir"]) : null;
const bank = await startBank({
  issuer: opts.issuer,
  insecure: opts.insecure,
  profile: opts.profile,
  bind: opts.bind,
  port: Number(opts.port),
  publicUrl: opts["public-url"],
  key,
  scope: SCOPES,
  // Registration needs the bank's address, known once it listens (--port 0).
  registration: (bankUrl) => registration(opts, bankUrl, key?.jwksFile),
});
process.stdout.write(`bank-ekyc (${opts.profile}) against ${opts.issuer.href}: open ${bank.url}/\n`);
