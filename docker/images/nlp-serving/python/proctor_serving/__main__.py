from proctor_serving.server import main

main()
