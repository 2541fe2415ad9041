from card_bridge.server import main

main()
