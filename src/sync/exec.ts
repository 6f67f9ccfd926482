import { execFile } from 'node:child_process';
import { SyncError } from './errors.js';

/** Options for {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Output beyond this is an error, not a memory problem. */
  maxBuffer?: number;
  /** Text to send on stdin. */
  input?: string;
}

/**
 * Runs a program without a shell (arguments are never interpreted), with a timeout after which it
 * is killed. Rejects with a SyncError carrying the program's own stderr, trimmed.
 */
export function run(file: string, args: readonly string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024,
        encoding: 'utf8',
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const name = file.split('/').pop() ?? file;
        const e = err;
        if (e.code === 'ENOENT') {
          return reject(new SyncError('TOOL_MISSING', `${name} is not installed or not on PATH (looked for "${file}")`));
        }
        if (e.killed || e.signal === 'SIGKILL') {
          return reject(new SyncError('TIMEOUT', `${name} ${args[0] ?? ''} did not finish within ${Math.round(options.timeoutMs / 1000)}s`, true));
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(new SyncError('OUTPUT_TOO_LARGE', `${name} ${args[0] ?? ''} produced more output than allowed`));
        }
        reject(Object.assign(new SyncError('COMMAND_FAILED', `${name} ${args[0] ?? ''} failed: ${tidy(stderr || e.message)}`), { stderr }));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

function tidy(text: string): string {
  const trimmed = text.trim().split('\n').filter(Boolean).slice(-6).join('\n');
  return trimmed.length > 2_000 ? `${trimmed.slice(0, 2_000)}…` : trimmed;
}
