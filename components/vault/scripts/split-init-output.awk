# Splits `vault operator init -format=json` output (one field per line) into the
# recovery material (stdout, valid JSON without the root token) and the root token
# (written to the file named by -v token_file=...).
/^[[:space:]]*"root_token"[[:space:]]*:/ {
  token = $0
  sub(/^[^:]*:[[:space:]]*"/, "", token)
  sub(/".*$/, "", token)
  printf "%s", token > token_file
  next
}
{
  if (have) {
    if ($0 ~ /^[[:space:]]*[]}]/) sub(/,[[:space:]]*$/, "", prev)
    print prev
  }
  prev = $0
  have = 1
}
END { if (have) print prev }
