module goroscope.test/ctxsw

go 1.19
