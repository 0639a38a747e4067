"""zynpu.board: put a build on a real board over SSH and run tests there (hardware in the loop).

Key-based SSH only (Fabric/Paramiko), every remote command bounded by a timeout, and deploys that copy
only what changed, so a CI runner wired to a board can call `zynpu board hil` on every push.
"""
