"""Pure transcoding rules, no I/O: ladder planning and failure reasons (``ladder``), the liveness rule of a
pass (``liveness``), picture planning (``pictures``) and the job states (``job``)."""
