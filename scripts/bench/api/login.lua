-- wrk script: POST /v1/auth/login with the credentials of one account.
wrk.method = "POST"
wrk.path = "/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email": "%s", "password": "%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
