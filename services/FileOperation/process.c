/* process.c — FileOperation's process around its handlers: what happens
 * when the client leaves and how the process ends (main.c's hooks). */
#include <stdio.h>
#include <unistd.h>

#include "FileOperation.h"

/* The client left: stop the operation (the worker removes the file it was
 * writing) and send nothing more. */
void fo_conn_fini(hv_conn *c, void *state)
{
	fo_op *op = &fo_the_op;
	op->conn = NULL;
	pthread_mutex_lock(&op->mu);
	atomic_store(&op->cancelled, true);
	pthread_cond_broadcast(&op->cv);
	pthread_mutex_unlock(&op->mu);
}

/* Wait for the worker to finish cleaning up, then end without freeing
 * what the events it posted hold. */
void fo_teardown(int code)
{
	fo_op *op = &fo_the_op;
	if (op->thread) {
		pthread_mutex_lock(&op->mu);
		atomic_store(&op->cancelled, true);
		pthread_cond_broadcast(&op->cv);
		pthread_mutex_unlock(&op->mu);
		pthread_join(op->thread, NULL);
	}
	fflush(NULL);
	_exit(code);
}
