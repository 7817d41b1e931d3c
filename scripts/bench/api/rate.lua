-- wrk script: PUT /v1/me/ratings/{id} with a random title of the synthetic
-- catalog (t00001 to t03000) and a random rating, as one of the accounts
-- whose access tokens BENCH_TOKENS lists, comma-separated.
local tokens = {}
for t in string.gmatch(os.getenv("BENCH_TOKENS"), "[^,]+") do
  tokens[#tokens + 1] = t
end

request = function()
  local id = string.format("t%05d", math.random(1, 3000))
  local body = string.format('{"rating": %.1f}', math.random(1, 10) / 2)
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("PUT", "/v1/me/ratings/" .. id, headers, body)
end
