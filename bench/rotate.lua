-- wrk script of bench/reads.py: each request signs in as the next attendee of the file
-- named by READS_TOKENS (one "token<TAB>etag" a line; without an etag: no If-None-Match).
local lines = {}
for line in io.lines(os.getenv("READS_TOKENS")) do
  local token, etag = line:match("^([^\t]+)\t?(.*)$")
  lines[#lines + 1] = {token = token, etag = etag}
end
local i = 0

function setup(thread)
  i = i + 1
  thread:set("first", i * 997)
end

function init(args)
  i = first % #lines
end

function request()
  i = i % #lines + 1
  local headers = {Authorization = "Bearer " .. lines[i].token}
  if lines[i].etag ~= "" then
    headers["If-None-Match"] = lines[i].etag
  end
  return wrk.format("GET", nil, headers)
end
