-- wrk: spread requests over many service tokens (each keeps its real 60/min + 1000/h limits).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do tokens[#tokens + 1] = line end
local path = os.getenv("BENCH_PATH")
local counter = math.random(1, #tokens)

request = function()
  counter = counter + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1] })
end
