-- wrk script: GET /v1/me/home as one of the accounts whose access tokens
-- BENCH_TOKENS lists, comma-separated.
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS"), "[^,]+") do
  tokens[#tokens + 1] = t
end

request = function()
  local headers = {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}
  return wrk.format("GET", "/v1/me/home?limit=10", headers)
end
