-- Init file for a headless `nvim --clean -u tests/neovim/pause.lua FILE` driven by
-- test_neovim_pause.py: vim.lsp.enable('heaplens') with editors/neovim on the runtimepath,
-- then :HeaplensList, :HeaplensPause, :HeaplensResume and the code action "heaplens:
-- pause in this package", each waited for by what it changes. What it saw goes to
-- HEAPLENS_NVIM_RESULT as JSON; the Python test asserts on it.

local plugin = assert(os.getenv('HEAPLENS_NVIM_PLUGIN'), 'HEAPLENS_NVIM_PLUGIN unset')
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
local result = { steps = {}, notifications = {} }

vim.notify = function(message, level)
  table.insert(result.notifications, { message = tostring(message), level = level })
end

local function step(name)
  table.insert(result.steps, name)
end

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

local function heaplens_diagnostics(bufnr)
  return vim.tbl_filter(function(d)
    return d.source == 'heaplens'
  end, vim.diagnostic.get(bufnr))
end

local function plain(d)
  return { lnum = d.lnum, col = d.col, code = d.code, message = d.message }
end

--- The notification whose message contains `needle`, said after the `after`-th one.
local function notified(needle, after)
  for i = after + 1, #result.notifications do
    if result.notifications[i].message:find(needle, 1, true) then
      return result.notifications[i].message
    end
  end
end

local function cleared_then_back(bufnr, name, pause)
  local said = #result.notifications
  pause()
  wait_for(name .. ' to clear the diagnostics', function()
    return #heaplens_diagnostics(bufnr) == 0
  end)
  result[name] = result[name] or {}
  result[name].said = wait_for('the pause to be said', function()
    return notified('paused in', said)
  end)
  step(name)
end

local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = wait_for('the heaplens client to attach', function()
    local c = vim.lsp.get_clients({ name = 'heaplens', bufnr = bufnr })[1]
    return c and c.initialized and c
  end)
  local diags = wait_for('heaplens diagnostics', function()
    local ds = heaplens_diagnostics(bufnr)
    return #ds >= spec.at_least and ds
  end)
  result.diagnostics = vim.tbl_map(plain, diags)
  result.commands = {}
  for _, name in ipairs({ 'HeaplensList', 'HeaplensPause', 'HeaplensResume' }) do
    result.commands[name] = vim.fn.exists(':' .. name) == 2
  end
  step('diagnostics')

  -- :HeaplensList: the quickfix list from heaplens.listFindings. The answer itself is
  -- kept too (the same request, through the module), to compare the order.
  local said = #result.notifications
  vim.cmd('HeaplensList')
  wait_for('the quickfix list', function()
    return notified('in the quickfix list', said)
  end)
  local answered = false
  require('heaplens').list({
    bufnr = bufnr,
    open = false,
    on_done = function(_, _, answer)
      result.listed = answer
      answered = true
    end,
  })
  wait_for('the list of findings', function()
    return answered
  end)
  local qf = vim.fn.getqflist({ items = 0, title = 0 })
  result.quickfix = { title = qf.title, window = vim.fn.getqflist({ winid = 0 }).winid ~= 0 }
  result.quickfix.items = vim.tbl_map(function(item)
    return {
      filename = vim.api.nvim_buf_get_name(item.bufnr),
      lnum = item.lnum,
      col = item.col,
      text = item.text,
    }
  end, qf.items)
  vim.cmd('cclose')
  vim.api.nvim_set_current_buf(bufnr)
  step('list')
  if spec.list_only then
    return
  end

  -- :HeaplensPause clears the package's diagnostics; :HeaplensResume brings them back.
  cleared_then_back(bufnr, 'pause', function()
    vim.cmd('HeaplensPause')
  end)
  result.pause.exclude = vim.deepcopy(client.settings.heaplens.exclude)
  vim.cmd('HeaplensResume')
  local back = wait_for('the diagnostics to come back', function()
    local ds = heaplens_diagnostics(bufnr)
    return #ds >= spec.at_least and ds
  end)
  result.resume = {
    exclude = vim.deepcopy(client.settings.heaplens.exclude),
    diagnostics = vim.tbl_map(plain, back),
  }
  step('resume')

  -- The code action runs the client command heaplens.pausePackage, as Neovim does when
  -- one is chosen: through vim.lsp.commands.
  local d = back[1].user_data.lsp
  local actions = client:request_sync('textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = d.range,
    context = { diagnostics = { d } },
  }, 10000, bufnr).result or {}
  local chosen
  for _, action in ipairs(actions) do
    if action.title == 'heaplens: pause in this package' then
      chosen = action
    end
  end
  assert(chosen and chosen.command, 'no pause code action')
  result.action = { command = chosen.command.command, arguments = chosen.command.arguments }
  cleared_then_back(bufnr, 'action', function()
    client:exec_cmd(chosen.command, { bufnr = bufnr })
  end)
  result.action.exclude = vim.deepcopy(client.settings.heaplens.exclude)
end

local function finish(ok, err)
  result.ok = ok
  result.error = err
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  result.clients_stopped = vim.wait(5000, function()
    return #vim.lsp.get_clients() == 0
  end, 50)
  local f = assert(io.open(result_path, 'wb'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd(ok and 'qall!' or 'cquit! 3')
end

if spec.settings then
  vim.lsp.config('heaplens', { settings = { heaplens = spec.settings } })
end
vim.lsp.enable('heaplens')
vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = xpcall(run, debug.traceback)
      finish(ok, not ok and tostring(err) or nil)
    end)
  end,
})
