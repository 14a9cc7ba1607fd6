import { connect } from 'node:net';

/** True when nothing accepts a TCP connection on address:port. */
export function refused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, address);
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', () => resolve(true));
  });
}
