-- wrk script: PUT a 1 KiB value to the URL given on the command line.
wrk.method = "PUT"
wrk.body = string.rep("v", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
