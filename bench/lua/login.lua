-- login: POST /login (OAuth2 password form) cycling over the first BENCH_LOGIN_USERS seeded
-- users, who all share the benchmark password (bcrypt cost 12: about 0.25 s of CPU each).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

local users, password, k
setup = common.setup
wrk.method = "POST"
wrk.path = "/login"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
function init(args)
  users = common.env_number("BENCH_LOGIN_USERS")
  password = os.getenv("BENCH_PASSWORD")
  assert(password, "BENCH_PASSWORD is not set")
  k = thread_index * 7
end

function request()
  k = k + 1
  local body = string.format("username=user%d%%40bench.example&password=%s", k % users + 1, password)
  return wrk.format(nil, nil, nil, body)
end
