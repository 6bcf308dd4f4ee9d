-- flood: PATCH /users/me with a wrong current_password, over and over, from one account (the
-- first token of BENCH_TOKENS): each request costs a bcrypt check and gets 403. The scenario
-- login-during-flood runs it beside 16 logins (bench/logins.py), to see whether one account's flood of password
-- checks holds up other users' logins. A 403 is what is expected here: done() prints how many
-- answers were anything else, and bench/wrk.py counts those as the errors.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local threads = {}
function setup(thread)
  common.setup(thread)
  threads[#threads + 1] = thread
end

wrk.method = "PATCH"
wrk.path = "/users/me"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"password": "a new passphrase", "current_password": "not the password"}'

function init(args)
  common.authorize()
  unexpected = 0 -- a global: done() reads it from each thread (thread:get)
end

function response(status, headers, body)
  if status ~= 403 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("Unexpected statuses: %d\n", total))
end
