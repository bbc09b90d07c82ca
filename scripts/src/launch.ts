/**
 * The launcher behind `npm start`: runs Redis, rtpengine, Kamailio, the sip app and signaling on this
 * machine, seeds the demo users once, shows their logins, restarts a service that crashes, and stops
 * everything on Ctrl-C. Environment variables and the restart rules: see scripts/README.md.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { demoLoginsText, readDemoLogins, readyMessage, seedDemo, SEED_NAME, writeDemoLogins } from './demo-logins.js';
import { LaunchConfigError, httpUrl, readLaunchConfig, type LaunchConfig } from './launch-config.js';
import { PrefixedOutput } from './log-format.js';
import { nodeRuntimeCheck } from './node-release.js';
import { serviceDefinitions } from './services.js';
import { LAUNCHER, Supervisor } from './supervisor.js';

function readConfig(): LaunchConfig {
  try {
    return readLaunchConfig(process.env);
  } catch (err) {
    if (err instanceof LaunchConfigError) {
      console.error(`deskline: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

const node = nodeRuntimeCheck('node scripts/dist/launch.js');
if (!node.ok) {
  console.error(`deskline: ${node.error}`);
  process.exit(1);
}
const config = readConfig();
const services = serviceDefinitions(config);
const out = new PrefixedOutput([LAUNCHER, SEED_NAME, ...services.map((s) => s.name)]);
// signaling, the sip app and the CLI run on this same Node (process.execPath).
out.say(LAUNCHER, node.line);
const supervisor = new Supervisor(out);

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => supervisor.onSignal(signal));
const crash = (err: unknown): void => {
  out.say(LAUNCHER, `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 'stderr');
  void supervisor.shutdown(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('exit', () => supervisor.killAllNow());

try {
  mkdirSync(config.varDir, { recursive: true });
  await supervisor.checkPorts(services);
  for (const service of services) await supervisor.start(service);

  const loginsFile = path.join(config.varDir, 'demo-logins.txt');
  const seed = await seedDemo(supervisor, out, config);
  let logins: string | undefined;
  if (seed.created) {
    logins = demoLoginsText(seed, new Date(), config.sip);
    try {
      writeDemoLogins(loginsFile, logins);
      out.say(LAUNCHER, `created the demo users; their logins are in ${loginsFile}`);
    } catch (err) {
      // The passwords exist nowhere else, so they are shown below even though the file failed.
      out.say(LAUNCHER, `created the demo users, but could not save their logins: ${(err as Error).message}`, 'stderr');
    }
  } else {
    logins = readDemoLogins(loginsFile);
  }
  if (!supervisor.isStopping) console.log(readyMessage(httpUrl(config.host, config.port), loginsFile, logins));
} catch (err) {
  await supervisor.fail(err);
}
