from proctor_sandbox.runner import main

main()
