local h = require 'helper'

describe('vstudio command line', function()
  it('prints help listing every command', function()
    local out, _, rc = h.vstudio('--help')
    assert.are.equal(0, rc)
    for _, c in ipairs { 'run', 'repl', 'convert', 'probe', 'extract', 'concat' } do
      assert.truthy(out:find('\n  ' .. c .. ' ', 1, true), c)
    end
  end)

  it('points at a manual page that exists: the tree\'s man/vstudio.1 when run from a checkout', function()
    local out = h.vstudio('--help')
    local page = out:match("'man ([^']+)' for the manual")
    assert.is_not_nil(page, out)
    local exe = h.sh('readlink -f ' .. h.q(h.bin))
    local tree_page = exe:gsub('\n$', ''):gsub('/[^/]+/[^/]+$', '') .. '/man/vstudio.1'
    if h.exists(tree_page) then
      assert.are.equal(h.sh('readlink -f ' .. h.q(tree_page)), h.sh('readlink -f ' .. h.q(page)))
    else
      assert.are.equal('vstudio', page)
    end
  end)

  it('prints its version', function()
    local out, _, rc = h.vstudio('--version')
    assert.are.equal(0, rc)
    assert.truthy(out:match('^vstudio %d+%.%d+%.%d+\n$'))
  end)

  it('rejects an unknown command with exit 2 and a hint', function()
    local _, err, rc = h.vstudio('frobnicate')
    assert.are.equal(2, rc)
    assert.truthy(err:find("vstudio: unknown command 'frobnicate'", 1, true))
    assert.truthy(err:find('--help', 1, true))
  end)

  it('rejects an unknown global option with exit 2', function()
    local _, err, rc = h.vstudio('--frobnicate')
    assert.are.equal(2, rc)
    assert.truthy(err:find("unknown option '--frobnicate'", 1, true))
  end)

  it('help COMMAND rejects unknown commands', function()
    local _, err, rc = h.vstudio('help nope')
    assert.are.equal(2, rc)
    assert.truthy(err:find("unknown command 'nope'", 1, true))
    assert.truthy(err:find("Try 'vstudio --help'.", 1, true), err)
    local out, err2, rc2 = h.vstudio('help --help')
    assert.are.equal(0, rc2, err2)
    local top = h.vstudio('--help')
    assert.are.equal(top, out)
  end)

  it('has a man page groff accepts without warnings', function()
    local _, err, rc = h.sh('groff -man -ww -z man/vstudio.1')
    assert.are.equal(0, rc)
    assert.are.equal('', err)
  end)

  it('documents every command in the man page', function()
    local man = h.read_file('man/vstudio.1')
    for _, c in ipairs { 'run', 'repl', 'convert', 'probe', 'extract', 'concat', 'preview' } do
      -- the command as an entry of COMMANDS: .B run, .BI "run " ..., or \fBrun
      assert.truthy(man:find('\n%.B[IR]? "?' .. c .. '[ "\n]') or man:find('\\fB' .. c, 1, true), c)
    end
  end)
  describe('options, read from one table for every command', function()
    local commands = { 'run', 'repl', 'convert', 'probe', 'extract', 'concat', 'preview' }

    it('lists -h, --help in every command\'s help', function()
      for _, c in ipairs(commands) do
        local out, _, rc = h.vstudio(c .. ' --help')
        assert.are.equal(0, rc, c)
        assert.truthy(out:find('\n  -h, --help ', 1, true), c .. ': ' .. out)
      end
    end)

    -- exit 2 and the message on stderr
    local function usage_error(args, message)
      local _, err, rc = h.vstudio(args)
      assert.are.equal(2, rc, args)
      assert.truthy(err:find(message, 1, true), err)
    end

    it('rejects unknown options, a missing value and a value for a flag with exit 2', function()
      for _, c in ipairs(commands) do
        usage_error(c .. ' --frobnicate', "vstudio: " .. c .. ": unknown option '--frobnicate'\nTry 'vstudio " .. c ..
          " --help'.")
      end
      usage_error('run x.lua --crf', 'vstudio: run: --crf needs a value')
      usage_error('convert d --force=yes', 'vstudio: convert: --force takes no value')
    end)

    it('takes --name=value and checks ranges and choices the same way', function()
      usage_error('run x.lua --crf=99', "vstudio: run: --crf: '99' is not an integer in 0..63")
      usage_error('convert d --crf 99', "vstudio: convert: --crf: '99' is not an integer in 0..63")
      usage_error('extract v.mp4 out --format=gif', "vstudio: extract: --format: 'gif' is not png or jpg")
      usage_error('probe -j 0 x.mp4', "vstudio: probe: -j: '0' is not an integer in 1..256")
    end)

    it('gives -j one meaning, --jobs, and -w one, --workers', function()
      for _, c in ipairs { 'convert', 'probe', 'extract' } do
        local out = h.vstudio(c .. ' --help')
        assert.truthy(out:find('\n  -j, --jobs N ', 1, true), c .. ': ' .. out)
      end
      for _, c in ipairs { 'run', 'convert' } do
        local out = h.vstudio(c .. ' --help')
        assert.truthy(out:find('\n  -w, --workers N ', 1, true), c .. ': ' .. out)
      end
      usage_error('run x.lua -j 2', "vstudio: run: unknown option '-j'")
    end)

    it('shares the encoder options between run and convert', function()
      local run, convert = h.vstudio('run --help'), h.vstudio('convert --help')
      for _, o in ipairs { '--codec NAME', '--crf N', '--preset P' } do
        local pattern = '\n%s*' .. o:gsub('%p', '%%%0') .. '%s+([^\n]*)'
        local help = run:match(pattern)
        assert.is_not_nil(help, o)
        assert.are.equal(help, convert:match(pattern), o)
      end
    end)
  end)
end)
