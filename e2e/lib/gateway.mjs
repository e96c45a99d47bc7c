// Starts the real product for browser tests: a redis-server on a free
// loopback port (or a 3-master Redis Cluster), the switchboard binary built
// from this checkout, an agent account created with the binary's own admin
// command, and `switchboard serve` on a free port. stop() ends them all.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, serveGoTest } from './harness.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitHTTP(url, timeout = 20_000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeout} ms`);
}

function run(bin, args, env, input) {
  const r = spawnSync(bin, args, { env: { ...process.env, ...env }, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * startGateway resolves with { url, urls, stop, redisURL, logs } once every
 * gateway is ready: `gateways` processes (default 1) share one redis-server,
 * as a production deployment behind a load balancer would; with
 * redis: 'cluster' they share a 3-master Redis Cluster instead, configured
 * as production configures one (REDIS_URL with `addr=` for the other
 * nodes). logs() is what the gateways wrote. agents is a list
 * of { id, name, password, role }. With embedded, one gateway runs on its
 * in-process store as `make run` does: no redis-server, no REDIS_URL, and
 * so no agents made with the admin command (redisURL is then ''). env adds
 * environment variables, config is the configuration file's YAML, and
 * publicURL makes each gateway's own URL its public URL (Twilio signatures).
 */
export async function startGateway({ agents = [], gateways = 1, embedded = false, redis: backend = 'server', env: extraEnv = {}, config = '', publicURL = false } = {}) {
  if (embedded && (agents.length || gateways !== 1)) throw new Error('embedded: one gateway, agents added in the console');
  if (!['server', 'cluster'].includes(backend)) throw new Error(`redis: want 'server' or 'cluster', got ${backend}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-'));
  const bin = path.join(dir, 'switchboard');
  const build = spawnSync('go', ['build', '-o', bin, './cmd/switchboard'], { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`go build: ${build.stderr}`);

  if (embedded) return serve({ dir, bin, gateways, stopRedis: () => {}, env: { REDIS_URL: '', SWITCHBOARD_ADMIN_PASSWORD: 'e2e-admin-password' }, redisURL: '' });

  const { redisURL, stop: stopRedis } = backend === 'cluster' ? await startCluster() : await startRedis(dir);
  const env = { REDIS_URL: redisURL, SWITCHBOARD_ADMIN_PASSWORD: 'e2e-admin-password', ...extraEnv };
  if (config) {
    env.SWITCHBOARD_CONFIG = path.join(dir, 'switchboard.yaml');
    writeFileSync(env.SWITCHBOARD_CONFIG, config);
  }
  try {
    for (const a of agents) {
      run(bin, ['agent', 'add', '--id', a.id, '--name', a.name, '--role', a.role || 'agent', '--password-stdin'],
        env, `${a.password}\n`);
    }
  } catch (e) {
    stopRedis('SIGKILL');
    throw e;
  }

  return serve({ dir, bin, gateways, stopRedis, env, redisURL, publicURL });
}

/** startRedis starts one redis-server in dir on a free loopback port. */
async function startRedis(dir) {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > end) {
      redis.kill('SIGKILL');
      throw new Error('redis-server did not start');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { redisURL: `redis://127.0.0.1:${port}/0`, stop: (sig = 'SIGTERM') => redis.kill(sig) };
}

/**
 * startCluster starts a 3-master Redis Cluster with the Go suites' own
 * starter (redistest.StartCluster, through TestServeCluster), which returns
 * once every node agrees who serves every slot.
 */
async function startCluster() {
  const { match, stop } = await serveGoTest('./internal/redistest/', 'TestServeCluster',
    { REDISTEST_SERVE_CLUSTER: '1', REDISTEST_SERVE_SECONDS: '900' }, /CLUSTER (redis:\/\/\S+)/);
  return { redisURL: match[1], stop };
}

/** serve starts the gateways and waits until each is ready. */
async function serve({ dir, bin, gateways, stopRedis, env, redisURL, publicURL = false }) {
  let logs = '';
  const procs = [];
  const urls = [];
  const stop = () => {
    for (const p of procs) p.kill('SIGTERM');
    stopRedis();
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500);
  };
  for (let i = 0; i < gateways; i++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const gw = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data'),
      '--log-level', process.env.SB_LOG_LEVEL || 'warn'], {
      // publicURL: the gateway's own address is the one Twilio signs for.
      env: { ...process.env, ...env, ...(publicURL ? { SWITCHBOARD_PUBLIC_URL: url } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gw.stdout.on('data', (d) => { logs += d; });
    gw.stderr.on('data', (d) => { logs += d; });
    procs.push(gw);
    urls.push(url);
    try {
      await waitHTTP(`${url}/readyz`);
    } catch (e) {
      for (const p of procs) p.kill('SIGKILL');
      stopRedis('SIGKILL');
      throw new Error(`${e.message}\n${logs}`);
    }
  }
  return { url: urls[0], urls, stop, redisURL, logs: () => logs };
}
