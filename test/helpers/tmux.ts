// Whether tmux (the terminal the `jobq top` tests drive) is installed on this machine.
import { execFileSync } from 'node:child_process';

export const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
