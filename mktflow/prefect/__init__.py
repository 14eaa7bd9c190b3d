"""The bridge between mktflow's engine and Prefect.

    steps       human_step / open_step / wait_for: a WorkItem through the engine, then pause
                (or suspend in a deployment run) for its typed input; UI answers reconciled
    tasks       Prefect tasks over engine handlers (ids in, plain values out, retries)
    approvals   seek_approval: the authority matrix's chain as four-eyes approval steps
    artifacts   markdown summary and table artifacts; reading them back
    handback    the one resume path (hand_back: what engine.steps.complete_step calls after a
                completion) and the end of a run whose process a cancel ended, over HTTP
    reconcile   the reconciler: runs waiting on answered steps resumed, processes whose run
                ended closed (mktflow serve, the process-reconciler deployment, the CLI)
    patches     every change mktflow makes to Prefect's internals, behind a version guard
    server      which Prefect API to use; the local server of embedded defaults
    runner      mktflow run: in this process, or handed to the served deployment
    registry    the processes, their flows and example parameters
    cycles      what every cycle flow shares: its period, begin/finish tasks, artifacts

Importing this package imports nothing from Prefect; its modules do, except registry
and server (which imports Prefect only inside ``connect``).
"""
