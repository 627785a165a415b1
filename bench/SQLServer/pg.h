/* pg.h — the PostgreSQL side of sqlserver-bench (pg.c). */
#pragma once

#include <stdint.h>

/* Start a private PostgreSQL; on failure *why says what is missing. */
int pg_start(const char **why);
/* Queries per second of the point SELECT, or < 0 on failure. */
double pg_point_select(int64_t rows, long queries);
void pg_stop(void);
