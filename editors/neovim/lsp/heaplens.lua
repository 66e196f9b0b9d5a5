-- heaplens: where Go values escape to the heap, and why, from the Go compiler itself.
--
-- Neovim 0.11+: with editors/neovim on 'runtimepath', this file is the `heaplens` config
-- of vim.lsp.config. Turn it on with
--
--   vim.lsp.enable('heaplens')
--
-- and change settings with
--
--   vim.lsp.config('heaplens', { settings = { heaplens = { mode = 'onSave' } } })
--
-- The server reads one flat object of settings, the same in `init_options` and in
-- `settings.heaplens` (its answer to the server's workspace/configuration request). Both
-- start with the server's defaults below; a value changed in either one is sent in both.
-- For Neovim 0.9 and 0.10, use require('heaplens').setup() instead.

--- The server's settings and their defaults: one flat object, camelCase keys.
local function defaults()
  return {
    mode = 'onType', -- 'onType' | 'onSave' | 'off'
    debounceMs = 300,
    -- BEGIN generated kinds: scripts/gen_kinds.py writes this from server/heaplens/kinds.py
    -- of: moved-to-heap, escapes-to-heap, leaking-param, inlining, cannot-inline, bounds-check, nil-check, assertion, directive
    kinds = { 'assertion', 'directive', 'escapes-to-heap', 'leaking-param', 'moved-to-heap' },
    -- kind -> 'error' | 'warning' | 'information' | 'hint'
    severity = {
      ['moved-to-heap'] = 'information',
      ['escapes-to-heap'] = 'information',
      ['leaking-param'] = 'hint',
      ['inlining'] = 'hint',
      ['cannot-inline'] = 'hint',
      ['bounds-check'] = 'information',
      ['nil-check'] = 'information',
      ['assertion'] = 'error',
      ['directive'] = 'warning',
    },
    -- END generated kinds
    inlayHints = true,
    goBinary = '', -- '' means `go` from PATH
    buildFlags = {},
    env = vim.empty_dict(), -- an empty object, not an empty list
    diagnoseUnopenedFiles = true,
    tests = true,
    timeout = 120,
    allowNetwork = false,
    -- pprof files (paths or globs, relative to the root) to weigh heap findings by
    profile = {},
    profileHotShare = 0.05, -- this share of allocated bytes or more: one severity up
    -- package directories (globs, relative to the root) heaplens is paused in:
    -- :HeaplensPause / :HeaplensResume change it for the session
    exclude = {},
    workspaceTrusted = true,
  }
end

---@type vim.lsp.Config
return {
  cmd = { 'heaplens', 'serve' },
  filetypes = { 'go' },
  -- In this order: a go.work workspace, then the module, then the repository.
  root_markers = { 'go.work', 'go.mod', '.git' },
  init_options = defaults(),
  settings = { heaplens = defaults() },
  -- Keeps init_options and settings.heaplens one object (see lua/heaplens/init.lua).
  before_init = function(params, config)
    local ok, heaplens = pcall(require, 'heaplens')
    if ok then
      heaplens.before_init(params, config)
    end
  end,
  -- Turns on inlay hints (unless inlayHints = false) and adds :HeaplensAnalyzeWorkspace,
  -- :HeaplensList, :HeaplensPause and :HeaplensResume.
  -- An on_attach of your own replaces this one: call require('heaplens').on_attach from it.
  on_attach = function(client, bufnr)
    local ok, heaplens = pcall(require, 'heaplens')
    if ok then
      heaplens.on_attach(client, bufnr)
    end
  end,
}
