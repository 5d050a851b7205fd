from rollgate import client


def handle(request):
    if client.is_enabled("new-checkout", request.context):
        return checkout_v2(request)
    if client.get_boolean_value('typo-flag', False):
        return None
    return checkout_v1(request)
