module goroscope.test/oracle

go 1.21
