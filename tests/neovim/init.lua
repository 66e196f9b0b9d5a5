-- Init file for a headless `nvim --clean -u tests/neovim/init.lua [FILE]` driven by
-- test_neovim.py. It puts editors/neovim on the runtimepath, configures heaplens one way
-- (HEAPLENS_NVIM_MODE), then, once Neovim has started, runs the checks the spec asks for
-- and writes what it saw as JSON to HEAPLENS_NVIM_RESULT. The Python test asserts on it.
--
--   native  vim.lsp.enable('heaplens'): lsp/heaplens.lua as is (Neovim 0.11+)
--   setup   require('heaplens').setup(spec.setup_opts)
--   config  no server: the resolved configs, the settings merge and the root search

local plugin = assert(os.getenv('HEAPLENS_NVIM_PLUGIN'), 'HEAPLENS_NVIM_PLUGIN unset')
local mode = assert(os.getenv('HEAPLENS_NVIM_MODE'), 'HEAPLENS_NVIM_MODE unset')
local result_path = assert(os.getenv('HEAPLENS_NVIM_RESULT'), 'HEAPLENS_NVIM_RESULT unset')
local spec_path = assert(os.getenv('HEAPLENS_NVIM_SPEC'), 'HEAPLENS_NVIM_SPEC unset')

vim.opt.runtimepath:prepend(plugin)

local function read(path)
  local f = assert(io.open(path, 'rb'))
  local data = f:read('*a')
  f:close()
  return data
end

local spec = vim.json.decode(read(spec_path))
local deadline = vim.uv.now() + (spec.budget_ms or 40000)

local result = { mode = mode, steps = {}, notifications = {}, messages = {}, logs = {} }

-- Everything said to the user or the log, for the assertions and for failures.
vim.notify = function(message, level)
  table.insert(result.notifications, { message = tostring(message), level = level })
end
vim.lsp.handlers['window/showMessage'] = function(_, params)
  table.insert(result.messages, { type = params.type, message = params.message })
end
vim.lsp.handlers['window/logMessage'] = function(_, params)
  table.insert(result.logs, { type = params.type, message = params.message })
end

local function step(name)
  table.insert(result.steps, name)
end

--- Waits until `predicate` returns a truthy value or the run's budget is spent.
local function wait_for(what, predicate)
  local value
  local ok = vim.wait(math.max(0, deadline - vim.uv.now()), function()
    value = predicate()
    return value and true or false
  end, 50)
  if not ok then
    error('timed out waiting for ' .. what, 0)
  end
  return value
end

local function heaplens_client(bufnr)
  return vim.lsp.get_clients({ name = 'heaplens', bufnr = bufnr })[1]
end

local function heaplens_diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.source == 'heaplens' then
      table.insert(out, d)
    end
  end
  return out
end

local function starts_with(s, prefix)
  return type(s) == 'string' and s:sub(1, #prefix) == prefix
end

--- The diagnostic whose message starts with want.message on 0-based line want.line.
local function find_diagnostic(diags, want)
  for _, d in ipairs(diags) do
    if d.lnum == want.line and starts_with(d.message, want.message) then
      return d
    end
  end
  return nil
end

local function plain_diagnostic(d)
  local lsp = (d.user_data or {}).lsp or {}
  return {
    lnum = d.lnum,
    col = d.col,
    end_lnum = d.end_lnum,
    end_col = d.end_col,
    severity = d.severity,
    source = d.source,
    code = d.code,
    message = d.message,
    lsp_range = lsp.range,
  }
end

local function full_range(bufnr)
  return {
    start = { line = 0, character = 0 },
    ['end'] = { line = vim.api.nvim_buf_line_count(bufnr), character = 0 },
  }
end

local function request(client, method, params, bufnr)
  local response, err = client:request_sync(method, params, 10000, bufnr)
  if not response then
    error(method .. ' failed: ' .. tostring(err), 0)
  end
  if response.err then
    error(method .. ' failed: ' .. vim.inspect(response.err), 0)
  end
  return response.result
end

-- The editor session: attach, diagnostics, inlay hints, code actions, the command.
local function run_server_checks()
  local bufnr = vim.api.nvim_get_current_buf()
  result.filetype = vim.bo[bufnr].filetype
  result.buffer_name = vim.api.nvim_buf_get_name(bufnr)

  local client = wait_for('the heaplens client to attach', function()
    local c = heaplens_client(bufnr)
    return c and c.initialized and c
  end)
  step('attached')
  result.client = {
    name = client.name,
    root_dir = client.root_dir,
    offset_encoding = client.offset_encoding,
    init_options = vim.deepcopy(client.config.init_options),
    settings = vim.deepcopy(client.settings),
    cmd = client.config.cmd,
    inlay_hints_enabled = vim.lsp.inlay_hint.is_enabled({ bufnr = bufnr }),
    command_exists = vim.fn.exists(':HeaplensAnalyzeWorkspace') == 2,
  }

  -- Diagnostics: wait until every expected finding has arrived.
  local diags = wait_for('heaplens diagnostics', function()
    local ds = heaplens_diagnostics(bufnr)
    for _, want in ipairs(spec.expect) do
      if not find_diagnostic(ds, want) then
        return nil
      end
    end
    return ds
  end)
  step('diagnostics')
  result.diagnostics = vim.tbl_map(plain_diagnostic, diags)

  -- Inlay hints, asked for as Neovim's inlay hint engine asks.
  local hints = request(client, 'textDocument/inlayHint', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = full_range(bufnr),
  }, bufnr) or {}
  result.inlay_hints = {}
  for _, hint in ipairs(hints) do
    local label = hint.label
    if type(label) == 'table' then
      label = table.concat(
        vim.tbl_map(function(part)
          return part.value
        end, label),
        ''
      )
    end
    table.insert(result.inlay_hints, { position = hint.position, label = label })
  end
  step('inlay hints')

  -- Code actions: the line's directive ("Ignore “<finding>”: add //heaplens:ignore to
  -- line N") on each target, all asked for, then applied.
  local edits = {}
  result.code_actions = {}
  for _, target in ipairs(spec.ignore_targets) do
    local d = assert(find_diagnostic(diags, target), 'no diagnostic ' .. target.message)
    local lsp_diagnostic = d.user_data.lsp
    local actions = request(client, 'textDocument/codeAction', {
      textDocument = vim.lsp.util.make_text_document_params(bufnr),
      range = lsp_diagnostic.range,
      context = { diagnostics = { lsp_diagnostic } },
    }, bufnr) or {}
    local titles, chosen = {}, nil
    for _, action in ipairs(actions) do
      table.insert(titles, action.title)
      if not chosen and action.title:match('^Ignore “.*”: add //heaplens:ignore to line %d+$') then
        chosen = action
      end
    end
    table.insert(result.code_actions, {
      target = target,
      titles = titles,
      kind = chosen and chosen.kind,
      diagnostics = chosen and chosen.diagnostics and #chosen.diagnostics,
      edit = chosen and chosen.edit,
    })
    assert(chosen and chosen.edit, 'no line directive action for ' .. target.message)
    table.insert(edits, chosen.edit)
  end
  for _, edit in ipairs(edits) do
    vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
  end
  result.buffer_after = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  step('code actions applied')

  -- The server sees the edited buffer: the ignored findings go away, the rest stay.
  local after = wait_for('the ignored findings to disappear', function()
    local ds = heaplens_diagnostics(bufnr)
    result.diagnostics_after = vim.tbl_map(plain_diagnostic, ds)
    for _, target in ipairs(spec.ignore_targets) do
      if find_diagnostic(ds, target) then
        return nil
      end
    end
    return #ds > 0 and ds
  end)
  result.diagnostics_after = vim.tbl_map(plain_diagnostic, after)
  step('findings ignored')

  -- :HeaplensAnalyzeWorkspace reports what heaplens.analyzeWorkspace returned.
  vim.cmd('HeaplensAnalyzeWorkspace')
  result.analyze_notification = wait_for('the analyzeWorkspace result', function()
    for _, n in ipairs(result.notifications) do
      if n.message:find('packages, %d+ findings') or n.message:find('analysis') then
        return n.message
      end
    end
  end)
  step('analyzeWorkspace')

  -- setup() again: the running server takes the new settings.
  if spec.resetup_opts then
    require('heaplens').setup(spec.resetup_opts)
    local want = spec.resetup_expect
    local d = wait_for('the new settings to apply', function()
      local found = find_diagnostic(heaplens_diagnostics(bufnr), want)
      return found and found.severity == want.severity and found
    end)
    result.resetup = { diagnostic = plain_diagnostic(d), settings = vim.deepcopy(client.settings) }
    step('setup again')
  end
end

-- No server: what the configs resolve to, and the helpers they use.
local function run_config_checks()
  local heaplens = require('heaplens')
  local resolved = vim.lsp.config.heaplens
  result.native = {
    cmd = resolved.cmd,
    filetypes = resolved.filetypes,
    root_markers = resolved.root_markers,
    init_options = resolved.init_options,
    settings = resolved.settings,
    init_options_json = vim.json.encode(resolved.init_options),
  }
  result.defaults = heaplens.defaults()

  -- A user changes one key in each table: both end up in both, as one flat object.
  vim.lsp.config('heaplens', {
    init_options = { debounceMs = 50, env = {} },
    settings = { heaplens = { mode = 'onSave', kinds = { 'moved-to-heap' } } },
  })
  local config = vim.deepcopy(vim.lsp.config.heaplens)
  local params = { initializationOptions = config.init_options }
  config.before_init(params, config)
  result.merged = {
    init_options = params.initializationOptions,
    settings = config.settings,
    init_options_json = vim.json.encode(params.initializationOptions),
  }

  -- Root markers, in order: go.work above go.mod wins, for both ways of configuring.
  result.roots = {}
  for name, path in pairs(spec.root_probes or {}) do
    result.roots[name] = {
      setup = heaplens.find_root(path, resolved.root_markers),
      native = vim.fs.root(path, resolved.root_markers),
    }
  end

  -- setup(): options become settings; client options stay out; unknown keys warn. It
  -- starts heaplens for a Go buffer opened before it (as when lazy-loaded on the first Go
  -- file) and for those opened after it; vim.lsp.start only records here.
  local started = {}
  local lsp_start = vim.lsp.start
  vim.lsp.start = function(config, opts)
    table.insert(started, {
      name = config.name,
      cmd = config.cmd,
      root_dir = config.root_dir,
      root_markers = config.root_markers or vim.NIL,
      file = vim.api.nvim_buf_get_name(opts.bufnr),
    })
  end
  vim.cmd.edit(spec.before_setup)
  heaplens.setup(spec.setup_opts)
  vim.cmd.edit(spec.after_setup)
  vim.cmd.edit(spec.not_go)
  vim.lsp.start = lsp_start
  result.started = started
  result.setup = {
    cmd = heaplens.config.cmd,
    root_markers = heaplens.config.root_markers,
    init_options = heaplens.config.init_options,
    settings = heaplens.config.settings,
    init_options_json = vim.json.encode(heaplens.config.init_options),
    command_exists = vim.fn.exists(':HeaplensAnalyzeWorkspace') == 2,
    autocmds = #vim.api.nvim_get_autocmds({ group = 'heaplens', event = 'FileType' }),
  }
  step('config')
end

local function finish(ok, err)
  result.ok = ok
  result.error = err
  -- Stop every client and wait for its server to exit, so nothing outlives Neovim.
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  local stopped = vim.wait(5000, function()
    return #vim.lsp.get_clients() == 0
  end, 50)
  if not stopped then
    for _, client in ipairs(vim.lsp.get_clients()) do
      client:stop(true)
    end
    vim.wait(2000, function()
      return #vim.lsp.get_clients() == 0
    end, 50)
  end
  result.clients_stopped = stopped
  local f = assert(io.open(result_path, 'wb'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd(ok and 'qall!' or 'cquit! 3')
end

local function main()
  local ok, err = xpcall(function()
    if mode == 'config' then
      run_config_checks()
    else
      run_server_checks()
    end
  end, debug.traceback)
  finish(ok, not ok and tostring(err) or nil)
end

if mode == 'native' then
  vim.lsp.enable('heaplens')
elseif mode == 'setup' then
  require('heaplens').setup(spec.setup_opts)
elseif mode ~= 'config' then
  error('unknown HEAPLENS_NVIM_MODE ' .. mode)
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(main)
  end,
})
