/**
 * The interpreter selected in the Python extension (ms-python.python), when it is installed.
 * Both of its APIs are tried: `environments` (current) and `settings.getExecutionDetails`
 * (older releases). Any failure means "no interpreter": discovery then moves on.
 */
import * as vscode from 'vscode';

export const PYTHON_EXTENSION_ID = 'ms-python.python';

interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
    resolveEnvironment(
      env: { path: string } | string,
    ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
  };
}

export async function pythonExtensionInterpreter(
  resource: vscode.Uri | undefined,
): Promise<string[] | undefined> {
  const extension = vscode.extensions.getExtension<PythonApi>(PYTHON_EXTENSION_ID);
  if (!extension) {
    return undefined;
  }
  const api = extension.isActive ? extension.exports : await extension.activate();
  if (!api) {
    return undefined;
  }
  if (api.environments) {
    const active = api.environments.getActiveEnvironmentPath(resource);
    if (active) {
      const env = await api.environments.resolveEnvironment(active);
      const exe = env?.executable?.uri?.fsPath;
      if (exe) {
        return [exe];
      }
    }
  }
  const command = api.settings?.getExecutionDetails(resource)?.execCommand;
  return command && command.length > 0 ? [...command] : undefined;
}
