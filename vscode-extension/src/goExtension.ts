/**
 * The `go` the Go extension (golang.go) runs, for when `heaplens.goBinary` is empty.
 *
 * A Go programmer configures their toolchain once, for the Go extension: `go.goroot`,
 * `go.alternateTools`, or nothing, when it finds `go` in places VS Code's PATH may lack
 * (a window opened from the macOS Dock has no shell PATH). heaplens must then analyse with
 * that same `go`, not a different one or none at all. The Go extension's API answers when it
 * is active; its settings answer when it is not (yet). Anything else means "go on PATH".
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

export const GO_EXTENSION_ID = 'golang.go';

/** The part of the Go extension's exported API used here (`ExtensionAPI` in vscode-go). */
interface GoApi {
  settings?: {
    getExecutionCommand(toolName: string, resource?: vscode.Uri): { binPath?: string } | undefined;
  };
}

/** An absolute path to the go binary the Go extension uses for `resource`, if it has one. */
export function goExtensionBinary(resource?: vscode.Uri): string | undefined {
  const extension = vscode.extensions.getExtension<GoApi>(GO_EXTENSION_ID);
  if (extension?.isActive) {
    try {
      const bin = extension.exports?.settings?.getExecutionCommand('go', resource)?.binPath;
      // It answers a bare "go" when it found nothing: that is PATH, which the server tries.
      if (bin && path.isAbsolute(bin)) {
        return bin;
      }
    } catch {
      // an API that changed shape: fall back to its settings
    }
  }
  const go = vscode.workspace.getConfiguration('go', resource);
  const alternate = go.get<Record<string, unknown>>('alternateTools')?.go;
  if (typeof alternate === 'string' && path.isAbsolute(alternate)) {
    return alternate;
  }
  const goroot = go.get<string>('goroot');
  if (typeof goroot === 'string' && path.isAbsolute(goroot)) {
    return path.join(goroot, 'bin', process.platform === 'win32' ? 'go.exe' : 'go');
  }
  return undefined;
}

/**
 * Activate the Go extension when it is installed and not active yet, so that its answer is
 * there for the server. Undefined when there is nothing to wait for; never rejects (a Go
 * extension that fails to start reports that itself).
 */
export function activateGoExtension(): Promise<void> | undefined {
  const extension = vscode.extensions.getExtension<GoApi>(GO_EXTENSION_ID);
  if (!extension || extension.isActive) {
    return undefined;
  }
  return Promise.resolve(extension.activate()).then(
    () => undefined,
    () => undefined,
  );
}
