-- heaplens for Neovim 0.9 and newer:
--
--   require('heaplens').setup({ mode = 'onSave' })
--
-- setup() starts `heaplens serve` for every Go buffer (vim.lsp.start on the `go`
-- FileType), in the directory of the nearest go.work, else go.mod, else .git. Its options
-- are the server's settings (see lsp/heaplens.lua for every key and its default), plus a
-- few about the client: cmd, filetypes, root_markers, on_attach, capabilities, handlers.
--
-- On Neovim 0.11 and newer, lsp/heaplens.lua and vim.lsp.enable('heaplens') do the same
-- without setup(); this module then only supplies before_init and on_attach.

local M = {}

M.COMMAND = 'heaplens.analyzeWorkspace'
M.LIST = 'heaplens.listFindings'
M.PAUSE = 'heaplens.pause'
M.RESUME = 'heaplens.resume'
-- The client commands the server's code actions run ("heaplens: pause in this package").
M.CLIENT_PAUSE = 'heaplens.pausePackage'
M.CLIENT_RESUME = 'heaplens.resumePackage'

-- setup() options that configure the client rather than the server.
local CLIENT_OPTIONS = {
  cmd = true,
  filetypes = true,
  root_markers = true,
  on_attach = true,
  capabilities = true,
  handlers = true,
}

-- Settings whose value is a JSON object: an empty Lua table would be sent as [].
local OBJECT_SETTINGS = { 'env', 'severity' }

--- The config setup() starts clients with; nil before setup().
M.config = nil

local function notify(message, level)
  vim.notify('heaplens: ' .. message, level or vim.log.levels.INFO)
end

local function get_clients(filter)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  return vim.lsp.get_active_clients(filter) -- Neovim 0.9
end

-- Client methods are called with `:` from 0.11 on; `.` before (and deprecated after).
local function client_request(client, method, params, handler, bufnr)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function client_notify(client, method, params)
  if vim.fn.has('nvim-0.11') == 1 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

--- The config of lsp/heaplens.lua beside this module, built anew on each call.
function M.base_config()
  local source = debug.getinfo(1, 'S').source
  local path
  if source:sub(1, 1) == '@' then
    -- <dir>/lua/heaplens/init.lua -> <dir>/lsp/heaplens.lua
    path = vim.fn.fnamemodify(source:sub(2), ':p:h:h:h') .. '/lsp/heaplens.lua'
  end
  if not path or vim.fn.filereadable(path) == 0 then
    path = vim.api.nvim_get_runtime_file('lsp/heaplens.lua', false)[1]
  end
  if not path then
    error('heaplens: lsp/heaplens.lua is not on the runtimepath')
  end
  return dofile(path)
end

--- The server's settings with their defaults: a new table on each call.
function M.defaults()
  return M.base_config().init_options
end

local function normalize(settings)
  for _, key in ipairs(OBJECT_SETTINGS) do
    local value = settings[key]
    if type(value) == 'table' and next(value) == nil then
      settings[key] = vim.empty_dict()
    end
  end
  return settings
end

--- One flat settings object from `init_options` and `settings.heaplens`.
---
--- A key set in only one of them is taken from there. A key set in both is taken from
--- settings.heaplens, unless that still holds the default: then init_options wins, so a
--- value changed in either table is the value the server gets.
function M.merge_settings(init_options, settings)
  local defaults = M.defaults()
  local merged = vim.deepcopy(type(init_options) == 'table' and init_options or {})
  for key, value in pairs(type(settings) == 'table' and settings or {}) do
    if merged[key] == nil or not vim.deep_equal(value, defaults[key]) then
      merged[key] = value
    end
  end
  return normalize(merged)
end

--- before_init of the client: sends the merged settings as initializationOptions and
--- answers workspace/configuration with the same object.
function M.before_init(params, config)
  local settings = config.settings or {}
  local merged = M.merge_settings(config.init_options, settings.heaplens)
  params.initializationOptions = merged
  config.init_options = merged
  if config.settings then
    -- The same table as client.settings: what workspace/configuration answers from.
    config.settings.heaplens = vim.deepcopy(merged)
  end
end

--- on_attach of the client: inlay hints on (Neovim 0.10+) and :HeaplensAnalyzeWorkspace.
function M.on_attach(client, bufnr)
  local settings = (client.settings or {}).heaplens or (client.config or {}).init_options or {}
  local hints = vim.lsp.inlay_hint
  if
    settings.inlayHints ~= false
    and type(hints) == 'table'
    and hints.enable
    and (client.server_capabilities or {}).inlayHintProvider
  then
    pcall(hints.enable, true, { bufnr = bufnr })
  end
  M.create_command()
end

--- Runs heaplens.analyzeWorkspace on the heaplens client of the buffer (or any heaplens
--- client) and reports the result. opts: bufnr, on_done(err, result).
function M.analyze_workspace(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = get_clients({ name = 'heaplens', bufnr = bufnr })[1]
    or get_clients({ name = 'heaplens' })[1]
  if not client then
    notify('no heaplens server is running: open a Go file first', vim.log.levels.WARN)
    return false
  end
  notify('analysing the workspace…')
  -- No `arguments`: the command takes none (and heaplens 0.1 rejects even an empty list).
  local params = { command = M.COMMAND }
  return client_request(client, 'workspace/executeCommand', params, function(err, result)
    if err then
      notify('analysis failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif type(result) == 'table' and result.trusted ~= false then -- else the server said why
      if result.cancelled then
        notify('analysis cancelled')
      else
        local message = '%d packages, %d findings'
        notify(message:format(result.packages or 0, result.findings or 0))
      end
    end
    if opts.on_done then
      opts.on_done(err, result)
    end
  end, bufnr)
end

function M.create_command()
  vim.api.nvim_create_user_command('HeaplensAnalyzeWorkspace', function()
    M.analyze_workspace()
  end, { nargs = 0, desc = 'heaplens: analyse every package of the workspace' })
  vim.api.nvim_create_user_command('HeaplensList', function()
    M.list()
  end, { nargs = 0, desc = "heaplens: the workspace's findings in the quickfix list" })
  vim.api.nvim_create_user_command('HeaplensPause', function()
    M.pause()
  end, { nargs = 0, desc = "heaplens: pause in this buffer's package" })
  vim.api.nvim_create_user_command('HeaplensResume', function()
    M.resume()
  end, { nargs = 0, desc = "heaplens: resume in this buffer's package" })
  -- What the code actions "heaplens: pause/resume in this package" run: their argument is
  -- the file's URI.
  vim.lsp.commands[M.CLIENT_PAUSE] = function(command, ctx)
    M.pause({ uri = (command.arguments or {})[1], client_id = ctx and ctx.client_id })
  end
  vim.lsp.commands[M.CLIENT_RESUME] = function(command, ctx)
    M.resume({ uri = (command.arguments or {})[1], client_id = ctx and ctx.client_id })
  end
end

--- The heaplens client of opts.client_id, else of the buffer, else any.
local function client_for(opts)
  if opts.client_id then
    local client = vim.lsp.get_client_by_id(opts.client_id)
    if client then
      return client
    end
  end
  return get_clients({ name = 'heaplens', bufnr = opts.bufnr })[1]
    or get_clients({ name = 'heaplens' })[1]
end

--- The settings the client answers workspace/configuration with (the server's copy).
local function client_settings(client)
  local settings = client.settings or (client.config or {}).settings or {}
  return settings.heaplens or vim.deepcopy((client.config or {}).init_options or {})
end

--- Keeps `exclude` in the client's settings tables and tells the server: the server
--- persists nothing, the client's settings are where the list lives (for this session).
local function set_exclude(client, exclude)
  local new = normalize(vim.deepcopy(client_settings(client)))
  new.exclude = exclude
  if client.settings then
    client.settings.heaplens = vim.deepcopy(new)
  end
  if client.config and client.config.settings then
    client.config.settings.heaplens = vim.deepcopy(new)
  end
  client_notify(client, 'workspace/didChangeConfiguration', { settings = { heaplens = new } })
end

local function pause_or_resume(command, verb, opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = client_for({ client_id = opts.client_id, bufnr = bufnr })
  if not client then
    notify('no heaplens server is running: open a Go file first', vim.log.levels.WARN)
    return false
  end
  local uri = opts.uri or vim.uri_from_bufnr(bufnr)
  local params = { command = command, arguments = { { uri = uri } } }
  return client_request(client, 'workspace/executeCommand', params, function(err, result)
    if err or type(result) ~= 'table' then
      local why = err and (err.message or vim.inspect(err)) or 'no answer'
      notify(verb .. ' failed: ' .. why, vim.log.levels.ERROR)
    else
      set_exclude(client, result.exclude or {})
      notify(('%s in %s'):format(verb, result.pattern or result.directory or '?'))
    end
    if opts.on_done then
      opts.on_done(err, result)
    end
  end, bufnr)
end

--- Pauses heaplens in the package of opts.uri (else the buffer's). opts: bufnr, uri,
--- client_id, on_done(err, result).
function M.pause(opts)
  return pause_or_resume(M.PAUSE, 'paused', opts)
end

--- Resumes heaplens in the package of opts.uri (else the buffer's).
function M.resume(opts)
  return pause_or_resume(M.RESUME, 'resumed', opts)
end

--- One quickfix entry of a finding: its range's start converted from the client's
--- position encoding to a byte column (locations_to_items reads the line to do it).
function M.quickfix_item(finding, offset_encoding)
  local location = { uri = finding.uri, range = finding.range }
  local item = vim.lsp.util.locations_to_items({ location }, offset_encoding)[1]
  item.text = ('%s: %s'):format(finding.kind or '?', finding.message or '')
  item.end_lnum, item.end_col = nil, nil
  item.user_data = nil
  return item
end

--- Fills the quickfix list with heaplens.listFindings: every finding the server holds,
--- by cost when a profile is loaded (the server's order), else by package, file and
--- position. opts: bufnr, open (default true: opens the quickfix window),
--- on_done(items, err, result) with the server's answer.
function M.list(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local client = client_for({ bufnr = bufnr })
  if not client then
    notify('no heaplens server is running: open a Go file first', vim.log.levels.WARN)
    return false
  end
  local params = { command = M.LIST }
  return client_request(client, 'workspace/executeCommand', params, function(err, result)
    local items = {}
    if err or type(result) ~= 'table' then
      local why = err and (err.message or vim.inspect(err)) or 'no answer'
      notify('listing findings failed: ' .. why, vim.log.levels.ERROR)
    else
      for _, finding in ipairs(result.findings or {}) do
        table.insert(items, M.quickfix_item(finding, client.offset_encoding))
      end
      local by = result.sortedBy == 'cost' and ('by cost, ' .. (result.profile or 'profile'))
        or 'by position'
      vim.fn.setqflist({}, ' ', { title = ('heaplens: %d findings (%s)'):format(#items, by), items = items })
      if opts.open ~= false and #items > 0 then
        vim.cmd('botright copen')
      end
      notify(('%d findings in the quickfix list'):format(#items))
    end
    if opts.on_done then
      opts.on_done(items, err, result)
    end
  end, bufnr)
end

--- The directory of the first marker found above `path`, markers tried in order.
function M.find_root(path, markers)
  local dir = vim.fs.dirname(path)
  for _, marker in ipairs(markers or {}) do
    local found = vim.fs.find(marker, { upward = true, path = dir, limit = 1 })[1]
    if found then
      return vim.fs.dirname(found)
    end
  end
  return nil
end

--- Starts (or reuses) the heaplens client for a buffer. Needs setup() first.
function M.start(bufnr)
  if not M.config then
    error('heaplens: call require("heaplens").setup() first')
  end
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return nil -- not a file on disk
  end
  local path = vim.fn.fnamemodify(name, ':p')
  local config = vim.deepcopy(M.config)
  config.root_dir = M.find_root(path, config.root_markers) or vim.fs.dirname(path)
  config.root_markers = nil
  config.filetypes = nil
  return vim.lsp.start(config, { bufnr = bufnr })
end

--- Configures heaplens and starts it for Go buffers, now and from now on.
function M.setup(opts)
  opts = opts or {}
  local base = M.base_config()
  local settings = base.settings.heaplens
  local client_opts = {}
  for key, value in pairs(opts) do
    if CLIENT_OPTIONS[key] then
      client_opts[key] = value
    elseif settings[key] ~= nil then
      if key == 'severity' and type(value) == 'table' then
        value = vim.tbl_extend('force', settings.severity, value)
      end
      settings[key] = value
    else
      notify(("unknown option '%s' ignored"):format(tostring(key)), vim.log.levels.WARN)
    end
  end
  normalize(settings)

  local user_on_attach = client_opts.on_attach
  M.config = {
    name = 'heaplens',
    cmd = client_opts.cmd or base.cmd,
    filetypes = client_opts.filetypes or base.filetypes,
    root_markers = client_opts.root_markers or base.root_markers,
    init_options = vim.deepcopy(settings),
    settings = { heaplens = settings },
    capabilities = client_opts.capabilities,
    handlers = client_opts.handlers,
    before_init = M.before_init,
    on_attach = function(c, b)
      M.on_attach(c, b)
      if user_on_attach then
        user_on_attach(c, b)
      end
    end,
  }

  local group = vim.api.nvim_create_augroup('heaplens', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.config.filetypes,
    desc = 'heaplens: start the language server',
    callback = function(args)
      M.start(args.buf)
    end,
  })
  M.create_command()

  -- Running clients (setup() called again) take the new settings now.
  for _, running in ipairs(get_clients({ name = 'heaplens' })) do
    local new = vim.deepcopy(settings)
    -- workspace/configuration answers from client.settings (0.10+) or client.config.settings
    if running.settings then
      running.settings.heaplens = new
    end
    if running.config and running.config.settings then
      running.config.settings.heaplens = new
    end
    client_notify(running, 'workspace/didChangeConfiguration', { settings = { heaplens = new } })
  end
  -- Buffers opened before setup(), e.g. when it runs lazily on the first Go file.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if
      vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.config.filetypes, vim.bo[buf].filetype)
    then
      M.start(buf)
    end
  end
end

return M
