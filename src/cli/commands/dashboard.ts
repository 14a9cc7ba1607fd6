import { readStatus } from '../../crawl/state/status.js';
import { startDashboard } from '../../dashboard/server.js';
import { stateDashboardSource } from '../../dashboard/state-source.js';
import { parseListenAddress } from '../crawl-flags.js';

/**
 * `trawl dashboard <state> [--listen [host:]port]`: serves the live dashboard over a state file
 * (a finished crawl, or one running in another process) until SIGINT/SIGTERM. The state file is
 * only read; a bad file is refused before the server starts.
 */
export async function runDashboard(statePath: string, flags: { listen?: string | boolean }): Promise<number> {
  readStatus(statePath); // refuses a missing, foreign or newer state file with a clear error
  const listen = parseListenAddress(
    'listen',
    flags.listen === undefined || flags.listen === false ? true : flags.listen,
  );
  const { source, metrics } = stateDashboardSource(statePath);
  const dash = await startDashboard({ ...listen, metrics: source });
  process.stderr.write(`trawl: dashboard for ${statePath} at ${dash.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await dash.close();
  metrics.close();
  return 0;
}
