"""The use cases (poll, replay, reprocess, fan-out, worker) over a shared run context, the
typed requests both doors turn events into, and the change events a run announces."""
